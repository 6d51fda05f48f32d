/**
 * The base of the kit's own errors, as undici's errors share UndiciError: `code` is stable, for a program to branch
 * on (the message is for people). Each class states its `name` in a getter, since class names do not survive
 * bundling or minifying, and a getter keeps it off the instance, so inspecting an error shows only its fields.
 */
export abstract class KitError extends Error {
  abstract readonly code: string;
  abstract override get name(): string;
}
