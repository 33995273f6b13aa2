import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { freePort, isAlive, startCluster, startKubo } from '../src/index.js';

async function rpc<T>(apiUrl: string, path: string): Promise<T> {
  const res = await fetch(`${apiUrl}/api/v0/${path}`, { method: 'POST' });
  const body = (await res.json()) as T & { Message?: string };
  if (!res.ok) throw new Error(body.Message ?? `${path}: ${res.status}`);
  return body;
}

describe('startCluster: a private IPFS network of Kubo nodes', () => {
  it('connects the nodes, moves blocks between them, survives kill -9 of one, and removes every repo', async () => {
    const cluster = await startCluster({ nodes: 2 });
    const [a, b] = cluster.nodes;
    try {
      assert.match(cluster.swarmKey, /^[0-9a-f]{64}$/);
      const form = new FormData();
      form.append('file', new Blob([new TextEncoder().encode('replicated ciphertext')]));
      const added = await fetch(`${a!.apiUrl}/api/v0/add?cid-version=1&raw-leaves=true`, {
        method: 'POST',
        body: form,
      });
      const { Hash } = (await added.json()) as { Hash: string };
      // b does not have the block: pinning it fetches it from a over the private network.
      await rpc(b!.apiUrl, `pin/add?arg=${Hash}&name=replica`);
      const pid = a!.process.pid;
      await cluster.kill(0);
      assert.equal(isAlive(pid), false, 'node a is gone');
      const cat = await fetch(`${b!.apiUrl}/api/v0/cat?arg=${Hash}`, { method: 'POST' });
      assert.equal(await cat.text(), 'replicated ciphertext', 'b serves its copy alone');
      const back = await cluster.restart(0);
      assert.equal(back.apiUrl, a!.apiUrl, 'a restarted node keeps its API URL');
      assert.equal(back.peerId, a!.peerId, 'and its identity');
    } finally {
      await cluster.stop();
    }
    for (const node of cluster.nodes) {
      assert.equal(isAlive(node.process.pid), false);
      assert.equal(existsSync(node.repoPath), false, 'temporary repositories are removed');
    }
  });

  it('refuses a node that does not hold the network’s swarm key', async () => {
    const cluster = await startCluster({ nodes: 1 });
    const outsider = await startKubo({
      network: { swarmKey: 'ab'.repeat(32), swarmPort: await freePort() },
    });
    try {
      const member = cluster.nodes[0]!;
      await assert.rejects(
        rpc(outsider.apiUrl, `swarm/connect?arg=${member.swarmAddr}/p2p/${member.peerId}`),
        /failed|error|refused|reset|EOF|protocol/i,
      );
      const { Peers } = await rpc<{ Peers: unknown[] | null }>(member.apiUrl, 'swarm/peers');
      assert.equal((Peers ?? []).length, 0, 'the member has no peers');
    } finally {
      await Promise.all([cluster.stop(), outsider.stop()]);
    }
  });
});
