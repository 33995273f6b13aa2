# syntax=docker/dockerfile:1
# The Node image of docker-compose.yml: the network-init job, the deploy job and the bridge.
# Build context: the repository root (its .dockerignore keeps out .git, .data, .tools, node_modules,
# build output and secrets). Two stages:
#   build    every dependency (dev included), TypeScript compiled to dist/
#   runtime  production dependencies only (npm ci --omit=dev), the compiled JavaScript, non-root user
#
#   docker build -f packages/contracts/besu/node.Dockerfile --target runtime -t ehr-anchor-node .

FROM node:24-bookworm-slim AS build
WORKDIR /app
ENV npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
COPY . .
# No install scripts: nothing the runtime needs downloads or compiles anything at install time.
RUN npm ci --ignore-scripts
RUN npx tsc -b packages/contracts packages/fhir-bridge
# Every workspace's package.json (and the lock), so the runtime stage installs from the same lock.
RUN find . -name package.json -not -path '*/node_modules/*' -print0 \
  | tar --null -cf /manifests.tar --files-from=- package-lock.json

FROM node:24-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
COPY --from=build /manifests.tar /tmp/manifests.tar
RUN tar -xf /tmp/manifests.tar && rm /tmp/manifests.tar \
  && npm ci --omit=dev --ignore-scripts \
    --workspace packages/core --workspace packages/contracts --workspace packages/fhir-bridge \
  && npm cache clean --force
COPY --from=build /app/packages/core/dist/src packages/core/dist/src
COPY --from=build /app/packages/contracts/dist/src packages/contracts/dist/src
COPY --from=build /app/packages/contracts/dist/scripts packages/contracts/dist/scripts
COPY --from=build /app/packages/contracts/src/generated/EhrRegistry.abi.json packages/contracts/src/generated/
COPY --from=build /app/packages/fhir-bridge/dist/src packages/fhir-bridge/dist/src
COPY --from=build /app/packages/fhir-bridge/bin packages/fhir-bridge/bin
USER node
CMD ["node", "packages/fhir-bridge/bin/ehr-bridge.mjs", "start"]
