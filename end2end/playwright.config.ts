import { defineConfig, devices } from "@playwright/test";

// Run by `make test` against the release build of the real server (BASE_URL) and a real
// PostgreSQL. Two projects run the same journeys: hydrated (JavaScript on) and without
// JavaScript, which proves every form works as a plain HTML post.
const chromium = {
  ...devices["Desktop Chrome"],
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  },
};

export default defineConfig({
  testDir: "./tests",
  globalSetup: "./global-setup.ts",
  forbidOnly: !!process.env.CI,
  workers: 1,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    baseURL: process.env.BASE_URL ?? "http://127.0.0.1:3000",
    trace: "retain-on-failure",
  },
  projects: [
    { name: "hydrated", use: { ...chromium, javaScriptEnabled: true } },
    {
      name: "no-js",
      use: { ...chromium, javaScriptEnabled: false },
      testIgnore: /.*\.hydrate\.spec\.ts/,
    },
  ],
});
