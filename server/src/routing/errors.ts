/**
 * The routing file's one error: every problem found, each with its path in the file.
 * @module
 */
export class RoutingConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(
      `[textgate] [routing] ${source} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    )
    this.name = 'RoutingConfigError'
  }
}
