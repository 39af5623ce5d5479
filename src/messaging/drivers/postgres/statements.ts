/** Schemas a process keeps statement texts for; more only costs rebuilding them. */
const maxSchemas = 64;

/**
 * Builds a module's statement texts once per schema (`s` is the quoted schema) rather than
 * on every call. They are sent unnamed on purpose: a named statement soon runs a generic
 * plan fixed while the table was small (a bitmap scan and sort over a whole queue for a
 * claim, or for the length bound), which costs more as the queue grows than planning
 * each call with the real size saves.
 */
export function perSchema<T>(build: (s: string) => T): (s: string) => T {
  const built = new Map<string, T>();
  return (s) => {
    let texts = built.get(s);
    if (texts === undefined) {
      if (built.size >= maxSchemas) built.clear();
      texts = build(s);
      built.set(s, texts);
    }
    return texts;
  };
}
