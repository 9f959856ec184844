import { expect, type Page, test } from "@playwright/test";
import { MembersPages } from "./pages/members";
import { LoginPage, settled } from "./pages/session";

/** Reloads `path` until `check` passes: the CRM worker runs in the background, within seconds. */
async function eventually(page: Page, path: string, check: () => Promise<void>) {
  await expect(async () => {
    await page.goto(path);
    await check();
  }).toPass({ timeout: 30_000, intervals: [500, 1_000, 2_000] });
}

// The CRM from the admin's side, on the demo's sandbox CRM: simulate an order (it goes through
// the real webhook receiver), see the member enrolled, the grant sent on the sync page and the
// club membership in the sandbox; revoke it and see the sandbox membership get its cancel date.
// Runs hydrated and without JavaScript, each in its own winery.
test("a simulated order enrolls a member whose sandbox membership is created, then cancelled on revoke", async ({ page }, info) => {
  const hydrated = info.project.name !== "no-js";
  const login = new LoginPage(page, hydrated);
  await login.goto("/admin/connection");
  await login.signIn(hydrated ? "cjs@e2e.test" : "cnojs@e2e.test", "e2e-password");
  await expect(page).toHaveURL(/\/admin\/connection/);
  await expect(page.getByRole("heading", { level: 2, name: /Sandbox CRM/ })).toBeVisible();
  await settled(page, hydrated);

  // A bad amount is refused with a sentence, and nothing is sent.
  const form = page.getByRole("form", { name: "Simulate an order" });
  const email = `sam-${Date.now().toString(36)}@example.com`;
  await form.getByLabel("E-mail address").fill(email);
  await form.getByLabel("First name").fill("Sam");
  await form.getByLabel("Last name").fill("Sample");
  await form.getByLabel("Amount ($)").fill("lots");
  await form.getByRole("button", { name: "Send the order" }).click();
  await expect(page.getByRole("alert")).toContainText("Enter an amount in dollars");

  // A $90 order reaches Bronze's minimum.
  await settled(page, hydrated);
  await form.getByLabel("E-mail address").fill(email);
  await form.getByLabel("First name").fill("Sam");
  await form.getByLabel("Last name").fill("Sample");
  await form.getByLabel("Amount ($)").fill("90");
  await form.getByRole("button", { name: "Send the order" }).click();
  if (hydrated) {
    await expect(page.getByRole("status")).toContainText("was sent through the webhook receiver");
  }

  // The worker processed the delivery: Sam is a Bronze member.
  const pages = new MembersPages(page, hydrated);
  await expect(async () => {
    await pages.search(email);
    await expect(page.getByRole("link", { name: "Sam Sample", exact: true })).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await pages.open("Sam Sample");
  await expect(pages.status()).toContainText("Bronze member until");

  // The grant was sent, and the sandbox holds Sam's Bronze club membership.
  await eventually(page, "/admin/sync", async () => {
    const row = page.getByRole("row").filter({ hasText: "Sam Sample" }).first();
    await expect(row).toContainText("Grant Bronze", { timeout: 1_000 });
    await expect(row).toContainText("sent", { timeout: 1_000 });
  });
  await eventually(page, "/admin/connection", async () => {
    const row = page.getByRole("table", { name: "Sandbox club memberships" }).getByRole("row").filter({ hasText: email });
    await expect(row).toContainText("Bronze", { timeout: 1_000 });
    await expect(row.getByRole("cell").nth(3)).toHaveText("—", { timeout: 1_000 });
  });

  // Revoking the membership cancels it in the sandbox.
  await pages.search(email);
  await pages.open("Sam Sample");
  const end = page.getByRole("form", { name: "End the membership" });
  await end.getByLabel("Reason").fill("Asked to leave the club");
  await end.getByRole("button", { name: "Preview" }).click();
  await page.getByRole("button", { name: "Confirm: revoke the membership" }).click();
  await expect(pages.status()).toHaveText("Not a member");
  await eventually(page, "/admin/connection", async () => {
    const row = page.getByRole("table", { name: "Sandbox club memberships" }).getByRole("row").filter({ hasText: email });
    await expect(row.getByRole("cell").nth(3)).not.toHaveText("—", { timeout: 1_000 });
  });
  await eventually(page, "/admin/sync", async () => {
    const row = page.getByRole("row").filter({ hasText: "Revoke Bronze" }).filter({ hasText: "Sam Sample" }).first();
    await expect(row).toContainText("sent", { timeout: 1_000 });
  });
});
