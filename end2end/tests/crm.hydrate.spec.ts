import { expect, test } from "@playwright/test";
import { settled } from "./pages/session";

// Opened from the CRM's admin (here the demo's sandbox CRM, which stands in for Commerce7's
// `/account/user`): no cookie at all, only the launch token in the address. The page opens in the
// CRM's dark theme, client-side navigation keeps the token, and a server function call carries it.
test("a launch from the CRM opens the admin without a cookie, in its theme, and its forms work", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto("/integrations/commerce7/launch?tenantId=e2e-cjs.sandbox&account=sandbox:guide@e2e.test&adminUITheme=dark");
  await expect(page).toHaveURL(/\/admin\?vt=/);
  await expect(page.getByRole("heading", { level: 1, name: "Dashboard" })).toBeVisible();
  await settled(page, true);
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  expect(await context.cookies()).toEqual([]);

  // Client-side navigation, then a server function: both work on the token alone.
  await page.getByRole("link", { name: "Loyalty", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Loyalty" })).toBeVisible();
  const settings = page.getByRole("form", { name: "Loyalty settings" });
  await settings.getByLabel("Minimum points to redeem").fill("150");
  await settings.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByRole("status")).toHaveText("Loyalty settings saved.");

  // A full page load inside the frame keeps the token too.
  await page.reload();
  await expect(page.getByRole("form", { name: "Loyalty settings" }).getByLabel("Minimum points to redeem")).toHaveValue("150");
  expect(await context.cookies()).toEqual([]);
  await context.close();
});
