// Vite build of the viewer into dist/ (served at / by `stadstwin serve`); `npm run dev` proxies /api to a local service.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: { proxy: { '/api': process.env.STADSTWIN_API ?? 'http://127.0.0.1:8000' } },
});
