/**
 * A publish with `as_is: true`: its files are published exactly as they are, with no detection,
 * build or `build_required` refusal. Kept on the version so a redeploy does the same.
 */
export const sql = `
ALTER TABLE versions ADD COLUMN as_is boolean NOT NULL DEFAULT false;
`;
