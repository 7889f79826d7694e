/**
 * What the image tests need and whether this machine has it: root (the Mesos fake runs container
 * images with chroot and mounts, as the agent's filesystem/linux isolator does) and, for the
 * agent image tests, the archive infra/docker/build.sh writes. A test file that lacks either is
 * skipped locally with the reason printed once, and fails under CI=true (.ci/run builds the
 * image and runs as root).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const IN_CI = process.env.CI === 'true';
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const VERSION = (JSON.parse(readFileSync(new URL('../../packages/cli/package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The image the agent tests run: `sluice/agent:<version>` unless SLUICE_IMAGE_ARCHIVE names another archive. */
export const AGENT_IMAGE_REPOSITORY = 'sluice/agent';
export const AGENT_IMAGE_TAG = VERSION;
export const AGENT_IMAGE_ARCHIVE = process.env.SLUICE_IMAGE_ARCHIVE ?? fileURLToPath(new URL(`../../build/image/${AGENT_IMAGE_REPOSITORY}:${AGENT_IMAGE_TAG}.tar`, import.meta.url));

const BUILD_HINT = 'run `bash infra/docker/build.sh` as root (or set SLUICE_IMAGE_ARCHIVE)';

/** Why the image tests cannot run here, or undefined when they can. */
export function imageTestBlocker(needsAgentImage: boolean): string | undefined {
  if (process.platform !== 'linux') return `container images need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'the Mesos fake runs container images only as root (chroot, mounts, the task user); run the tests as root';
  if (needsAgentImage && !existsSync(AGENT_IMAGE_ARCHIVE)) return `no agent image archive at ${AGENT_IMAGE_ARCHIVE}; ${BUILD_HINT}`;
  return undefined;
}
