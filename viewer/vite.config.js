// Vite build of the viewer into dist/ (served at / by `stadstwin serve`); `npm run dev` proxies /api to a local service.
// Two pages: index.html (the viewer) and tiles.html (a 3D Tiles tileset streamed with 3d-tiles-renderer).
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  build: {
    outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1500,
    rollupOptions: { input: { main: resolve(import.meta.dirname, 'index.html'), tiles: resolve(import.meta.dirname, 'tiles.html') } },
  },
  server: { proxy: { '/api': process.env.STADSTWIN_API ?? 'http://127.0.0.1:8000' } },
});
