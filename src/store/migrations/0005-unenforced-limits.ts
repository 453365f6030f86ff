/**
 * Why an instance's host does not enforce its memory, CPU and pids limits (a host without
 * usable cgroups), as its agent reports it; null when the limits hold.
 */
export const sql = `
ALTER TABLE runtime_instances ADD COLUMN unenforced_limits text;
`;
