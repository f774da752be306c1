import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// In development (npm run dev) the API is proxied, so that the app's default
// endpoint, /query on its own origin, reaches a Parley server started with
// `go run ./server` and no CORS setting is needed.
const parley = process.env.PARLEY_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/query': { target: parley, ws: true },
      '/files': { target: parley },
    },
  },
});
