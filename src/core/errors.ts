/**
 * The base of the kit's own errors, as undici's errors share UndiciError: `code` is stable, for a program to branch
 * on (the message is for people). `name` is stated by each class, since class names do not survive bundling or
 * minifying, in a getter, which keeps it off the instance: inspecting an error shows only its fields.
 */
export abstract class KitError extends Error {
  abstract readonly code: string;
  abstract override get name(): string;
}

/** The base class of an error named `name` with the code `code`: `class FolderError extends kitError('FolderError', 'FOLDER_FAILED') {}`. */
export function kitError(name: string, code: string) {
  return class extends KitError {
    readonly code = code;
    override get name(): string {
      return name;
    }
  };
}
