import { expect, test } from "@playwright/test";
import { MembersPages, ordersCsv } from "./pages/members";
import { accountFor, LoginPage } from "./pages/session";

// The club engine from the admin's side: import history (dry run first), read a member's
// timeline, enroll someone by hand, and revoke a membership flagged by a refund. Runs hydrated
// and without JavaScript, each in its own winery.
test("an admin imports history, reads a timeline, enrolls by hand and revokes a flagged membership", async ({ page }, info) => {
  const { hydrated } = accountFor(info);
  const email = info.project.name === "no-js" ? "mnojs@e2e.test" : "mjs@e2e.test";
  const login = new LoginPage(page, hydrated);
  await login.goto("/admin/import");
  await login.signIn(email, "e2e-password");
  await expect(page).toHaveURL(/^[^?]*\/admin\/import$/);
  const pages = new MembersPages(page, hydrated);

  // A file with a bad row is refused whole, with its line number.
  await pages.upload("broken.csv", ordersCsv([["X-1", "not-an-email", "Ex", "Ample", 5, 90, "paid"]]));
  await expect(page.getByRole("alert")).toContainText("line 2: customer_email is not valid");

  // Import: the dry run first, then the import itself.
  await pages.upload(
    "history.csv",
    ordersCsv([
      ["I-1", "imogen@example.com", "Imogen", "Importer", 40, 90, "paid"],
      ["I-2", "imogen@example.com", "Imogen", "Importer", 20, 180, "paid"],
      ["N-1", "nora@example.com", "Nora", "Nomember", 15, 20, "paid"],
      ["F-1", "fay@example.com", "Fay", "Flagged", 10, 95, "paid"],
      ["B-1", "ben@example.com", "Ben", "Pending", 5, 60, "pending"],
    ]),
  );
  await expect(page.getByRole("heading", { name: "Dry run" })).toBeVisible({ timeout: 20_000 });
  const summary = page.getByTestId("import-summary");
  await expect(summary).toContainText("New enrollments2");
  await expect(summary).toContainText("Upgrades1");
  await expect(summary).toContainText("Not counted1");
  await page.getByRole("button", { name: "Import 5 orders" }).click();
  await expect(page.getByText("The import is complete.")).toBeVisible({ timeout: 20_000 });

  // The CRM operations the import queued are visible, on their way to the (sandbox) CRM.
  await page.goto("/admin/sync");
  const queue = page.getByRole("table");
  await expect(queue).toContainText("Move Bronze → Silver");
  await expect(queue.getByRole("row").filter({ hasText: "Imogen Importer" }).first()).toContainText(/waiting|sending|sent/);

  // Find a member and read the timeline.
  await pages.search("imogen");
  await pages.open("Imogen Importer");
  await expect(pages.status()).toContainText("Silver member until");
  const timeline = page.getByRole("region", { name: "Timeline" });
  await expect(timeline).toContainText("Upgraded from Bronze to Silver");
  await expect(timeline).toContainText("Joined Bronze");
  await expect(timeline).toContainText("Order I-1: $90.00 (paid), $90.00 qualifying");

  // Enroll a customer by hand: preview the dates, then confirm.
  await pages.search("nora");
  await pages.open("Nora Nomember");
  await expect(pages.status()).toHaveText("Not a member");
  const enroll = page.getByRole("form", { name: "Enroll manually" });
  await enroll.getByLabel("Stage").selectOption({ label: "Bronze" });
  await enroll.getByLabel("Reason").fill("Guest of honour at the harvest dinner");
  await enroll.getByRole("button", { name: "Preview enrollment" }).click();
  await expect(page.getByRole("region", { name: "Enrollment preview" })).toContainText("Nora Nomember will join Bronze now");
  await page.getByRole("button", { name: "Confirm enrollment" }).click();
  await expect(pages.status()).toContainText("Bronze member until");
  await expect(page.getByRole("region", { name: "Timeline" })).toContainText("Guest of honour at the harvest dinner");

  // A refund of Fay's qualifying order flags her membership; the admin revokes it.
  await pages.upload("refunds.csv", ordersCsv([["F-1", "fay@example.com", "Fay", "Flagged", 10, 95, "refunded"]]));
  await expect(page.getByRole("heading", { name: "Dry run" })).toBeVisible({ timeout: 20_000 });
  await page.getByRole("button", { name: "Import 1 orders" }).click();
  await expect(page.getByText("The import is complete.")).toBeVisible({ timeout: 20_000 });
  await page.goto("/admin/members/flagged");
  await page.getByRole("link", { name: "Review and revoke Fay Flagged" }).click();
  await expect(page.getByRole("region", { name: "Change preview" })).toContainText("Fay Flagged's Bronze membership will end now");
  await page.getByRole("button", { name: "Confirm: revoke the membership" }).click();
  await expect(pages.status()).toHaveText("Not a member");
  await page.goto("/admin/members/flagged");
  await expect(page.getByRole("heading", { name: "Flagged for review" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Review and revoke Fay Flagged" })).toHaveCount(0);
});
