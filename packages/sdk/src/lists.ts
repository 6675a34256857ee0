// Runtime lists of a union's members (for pickers), checked at compile time against the generated union: when the
// document gains a member, typecheck fails here until the list has it.

/** `allOf<U>()([...])` returns the list, and fails to compile when a member of `U` is missing from it. */
export const allOf =
  <U extends string>() =>
  <const A extends readonly U[]>(values: A & ([U] extends [A[number]] ? unknown : { missing: Exclude<U, A[number]> })): readonly U[] =>
    values
