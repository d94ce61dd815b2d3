/**
 * For the tests of the routing file's validation: what it refuses, as the list of problems the
 * operator is shown.
 * @module
 */
import { RoutingConfigError } from '../src/routing/errors'

/**
 * The problems a {@link RoutingConfigError} from `parse` lists; none when `parse` accepts its
 * input. Any other error is thrown on.
 *
 * @example
 * expect(routingProblems(() => parseRoutingConfig(input, 'routes.json', {}))).toEqual([])
 */
export function routingProblems(parse: () => unknown): string[] {
  try {
    parse()
  } catch (error) {
    if (error instanceof RoutingConfigError) return error.problems
    throw error
  }
  return []
}
