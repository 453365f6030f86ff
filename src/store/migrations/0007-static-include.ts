/**
 * A publish's `static_include`: globs of files kept in a static release that its rules would
 * leave out (`*.map`, `.nojekyll`). Null when none were given. Kept on the version so a
 * redeploy does the same.
 */
export const sql = `
ALTER TABLE versions ADD COLUMN static_include jsonb;
`;
