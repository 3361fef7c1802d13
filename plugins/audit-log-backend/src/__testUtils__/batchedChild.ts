/**
 * Child process for BatchedSinkRunner.test.ts: emits N records through the
 * real pipeline with the real stdout sink in `batched` mode, then ends the
 * way argv[2] says, in the same event-loop turn.
 */
import { stdoutSinkType } from '../sinks/stdoutSinkType';
import { testPipeline } from './testPipeline';

async function main() {
  const [ending, count] = [process.argv[2], Number(process.argv[3])];
  const { pipeline } = await testPipeline({
    auditLog: { sinks: { out: { type: 'stdout', delivery: 'batched' } } },
    sinkTypes: [stdoutSinkType],
  });
  let writes = 0;
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => {
    writes++;
    return write(chunk);
  }) as typeof process.stdout.write;
  process.on('exit', () => process.stderr.write(`writes=${writes}\n`));
  for (let i = 0; i < count; i++) {
    pipeline.emit({
      plugin: 'p',
      eventName: 'E',
      stage: 'completion',
      status: 'succeeded',
      auditId: `r${i}`,
      actor: { actorId: null },
    });
  }
  switch (ending) {
    case 'exit':
      process.exit(0);
      break;
    case 'sigterm':
      process.kill(process.pid, 'SIGTERM');
      break;
    case 'throw':
      throw new Error('crash after emitting');
    case 'sigkill':
      process.kill(process.pid, 'SIGKILL');
      break;
    default:
      // 'later': the turn ends normally and the buffer is written then.
      break;
  }
}

main();
