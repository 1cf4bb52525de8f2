import { fileURLToPath, URL } from "node:url";
import vue from "@vitejs/plugin-vue";
import { ElementPlusResolver } from "unplugin-vue-components/resolvers";
import Components from "unplugin-vue-components/vite";
import { defineConfig } from "vitest/config";

// The gateway serves dist/ at its own address (same origin as the gRPC-Web calls); `npm run
// dev` proxies the calls to a gateway on WUYE_GATEWAY (default 127.0.0.1:50050).
const gateway = `http://${process.env.WUYE_GATEWAY ?? "127.0.0.1:50050"}`;

export default defineConfig({
  plugins: [
    vue(),
    // Element Plus components are imported where templates use them, so the first page loads
    // only what it shows (its whole stylesheet is one CSS file, main.ts).
    Components({
      resolvers: [ElementPlusResolver({ importStyle: false, directives: true })],
      dts: "src/components.d.ts",
    }),
  ],
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  build: {
    target: "es2022",
    chunkSizeWarningLimit: 1200,
    rolldownOptions: {
      output: {
        // Element Plus and Vue change less often than the screens: their own cached chunk.
        codeSplitting: {
          groups: [
            { name: "vendor-vue", test: /node_modules[\\/](@vue|vue|vue-router|vue-i18n|@intlify)[\\/]/ },
            { name: "vendor-element", test: /node_modules[\\/](element-plus|@element-plus|@floating-ui|@ctrl|lodash-es|async-validator|dayjs)[\\/]/ },
            // Charts load only with the screens that draw them.
            { name: "vendor-charts", test: /node_modules[\\/](echarts|zrender|tslib)[\\/]/ },
            { name: "vendor-rpc", test: /node_modules[\\/]@(bufbuild|connectrpc)[\\/]/ },
          ],
        },
      },
    },
  },
  server: {
    proxy: {
      "^/wuye\\.": { target: gateway },
      "/console/config.json": { target: gateway },
      "/dev/oidc": { target: gateway },
    },
  },
  test: {
    environment: "jsdom",
    include: ["tests/**/*.test.ts"],
  },
});
