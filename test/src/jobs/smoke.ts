import type { StreamExecutionEnvironment } from '@sluice/api';
export default (env: StreamExecutionEnvironment) => {
  env.fromSequence(1, 20).map((x) => x * 2).keyBy((x) => x % 3).reduce((a, b) => a + b).print('out ');
};
