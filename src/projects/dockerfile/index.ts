/** The Dockerfile subset projects may use, and the build plan it becomes. */
export { planBuild, type PlanBuildInput } from './plan-build.js';
export type { BuildPlan, BuildStep, CopyStep, RunStep, WorkdirStep, IgnoredInstruction } from './build-plan.js';
export { lexDockerfile, type RawInstruction } from './lexer.js';
