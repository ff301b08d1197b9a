/** Queries over surveys and their children for the data governance job, by step. */
export * from './rules.js';
export * from './warnings.js';
export * from './soft-delete.js';
export * from './hard-delete.js';
