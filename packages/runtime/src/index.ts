export * from './operators/types.js';
export * from './taskmanager/task-runner.js';
