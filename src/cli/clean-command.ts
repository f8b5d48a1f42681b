import type { Command } from 'commander';
import { connectEngine } from './connect-engine.js';

/** `tcplab clean`: removes every container and network a run left behind (found by label). */
export function registerClean(program: Command): void {
  program
    .command('clean')
    .description('remove containers and networks left by interrupted or crashed runs (label tcplab.run)')
    .option('--images', 'also remove lab images other than the current one (each agent or Dockerfile change makes a new one)')
    .action(async (flags: { images?: boolean }) => {
      const { RUN_LABEL } = await import('../run/deployed-lab.js');
      const { describeLabImage, LAB_IMAGE_LABEL } = await import('../runtime/lab-image.js');
      const runtime = await connectEngine();
      const found = await runtime.listLabelled(RUN_LABEL);
      for (const c of found.containers) await runtime.removeHost({ id: c.id, name: c.name, address: '' });
      for (const n of found.networks) await runtime.removeNetwork({ id: n.id, name: n.name, subnet: '' });
      process.stdout.write(`removed ${found.containers.length} container(s) and ${found.networks.length} network(s)\n`);
      if (flags.images) {
        const current = describeLabImage().tag;
        const stale = (await runtime.listLabelled(LAB_IMAGE_LABEL)).images.filter((image) => !image.tags.includes(current));
        let removed = 0;
        for (const image of stale) {
          try {
            await runtime.removeImage(image.id);
            removed++;
          } catch (err) {
            process.stderr.write(`kept ${image.tags.join(', ') || image.id}: ${(err as Error).message}\n`);
          }
        }
        process.stdout.write(`removed ${removed} stale lab image(s); kept ${current}\n`);
      }
    });
}
