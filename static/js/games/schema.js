// Reading a game's params JSON schema (from GET /api/games), so choices such as
// risk levels and row counts come from the server rather than from this client.

/** The allowed values of an enum property, or []. */
export function choices(schema, property) {
  return schema?.properties?.[property]?.enum ?? [];
}

/** [minimum, maximum] of an integer property. */
export function range(schema, property) {
  const spec = schema?.properties?.[property] ?? {};
  return [spec.minimum ?? 0, spec.maximum ?? 0];
}

/** The inclusive integers of a range, as a list. */
export function integers([low, high]) {
  return Array.from({ length: Math.max(0, high - low + 1) }, (_, i) => low + i);
}
