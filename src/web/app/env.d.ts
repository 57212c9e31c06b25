// esbuild bundles imported CSS into app-HASH.css; to TypeScript it is a side-effect import.
declare module '*.css';
