# Image for the deploy job and the bridge in docker-compose.yml: the monorepo with its npm
# dependencies, run through the same npm scripts as on a developer machine (Node 24 comes from the
# `node` devDependency). Build context: the repository root.
FROM node:24-bookworm-slim
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund
USER node
