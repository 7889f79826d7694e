/**
 * Test doubles for code built on the runtime (`@sluice/runtime/testing`): a fake TaskRunner and
 * an operator harness. Not part of the production surface.
 */
export { TestingTaskRunner, TestingTask, type TestingTaskRunnerOptions } from './taskmanager/testing-task-runner.js';
export { OperatorTestHarness, TestingOutput, TestingProcessingTimeService, type HarnessOptions, type OutputRecord } from './operators/testing.js';
