/** Figure rendering for attribution maps (browser-safe, plain typed arrays, no tfjs). */
export * from './colormap.js';
export * from './font.js';
export * from './grid.js';
export * from './heatmap.js';
export * from './image.js';
