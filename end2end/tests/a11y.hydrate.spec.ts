import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { LoginPage } from "./pages/session";

// axe-core on every admin page (and the member portal's sign-in page), in a 1024-pixel-wide viewport (the CRM's iframe): no serious or
// critical violation of WCAG 2 A/AA. Read-only, in the dashboard journey's winery.
const pages = [
  "/admin",
  "/admin/club",
  "/admin/members",
  "/admin/members/flagged",
  "/admin/members/at-risk",
  "/admin/loyalty",
  "/admin/messages",
  "/admin/messages/templates",
  "/admin/messages/templates/expiration_warning/email",
  "/admin/messages/outbox",
  "/admin/import",
  "/admin/sync",
  "/admin/connection",
  "/admin/portal",
  // The member portal's sign-in page (its signed-in pages are checked in portal.spec.ts's winery).
  "/m/e2e-djs",
];

test("every admin page passes axe-core with no serious violation", async ({ page }) => {
  test.setTimeout(120_000);
  await page.setViewportSize({ width: 1024, height: 800 });
  const login = new LoginPage(page, true);
  await login.goto("/login");
  await login.signIn("djs@e2e.test", "e2e-password");
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  await page.goto("/admin/members");
  const first = await page.locator("table.members tbody tr a").first().getAttribute("href");
  const found: string[] = [];
  for (const path of [...pages, first ?? "/admin/members"]) {
    await page.goto(path);
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
    await expect(page.locator("main h1").first()).toBeVisible();
    const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
    const serious = results.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${path} ${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
    found.push(...serious);
  }
  expect(found).toEqual([]);
});
