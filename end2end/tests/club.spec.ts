import { expect, test } from "@playwright/test";
import { ClubPage } from "./pages/club";
import { accountFor, LoginPage } from "./pages/session";

// The stage builder journey. It runs twice: hydrated, and with JavaScript disabled (every
// control is a plain form post that the server answers with a redirect back to the page).
test("an admin adds, validates, reorders and deactivates stages", async ({ page }, info) => {
  const { email, password, hydrated } = accountFor(info);
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));

  // Log in.
  const login = new LoginPage(page, hydrated);
  await login.goto("/admin/club");
  await login.signIn(email, password);
  await expect(page).toHaveURL(/^[^?]*\/admin\/club$/);
  const club = new ClubPage(page, hydrated);
  await club.goto();
  await club.expectNames(["Gold", "Silver", "Bronze"]);

  // Add a stage at the top of the ladder.
  await club.addStage({ name: "Platinum", discount: "25", months: "24", minimum: "600" });
  await club.expectNames(["Platinum", "Gold", "Silver", "Bronze"]);
  await expect(club.stage("Platinum")).toContainText("$600.00");
  await expect(club.stage("Platinum")).toContainText("25%");

  // A stage whose minimum is lower than the stage below it is refused, naming stage and field.
  await club.addStage({ name: "Diamond", discount: "30", months: "24", minimum: "500" });
  await expect(club.alert()).toContainText(
    "Diamond: minimum purchase (500.00) must be more than Platinum's (600.00), the stage below it.",
  );
  await club.expectNames(["Platinum", "Gold", "Silver", "Bronze"]);

  // Moving an active stage out of order is refused with the reason.
  await club.press("Bronze", "Move up: Bronze");
  await expect(club.alert()).toContainText(
    "Bronze: minimum purchase (75.00) must be more than Silver's (150.00), the stage below it.",
  );
  await club.expectNames(["Platinum", "Gold", "Silver", "Bronze"]);

  // Deactivate a stage: it stays on the ladder, marked inactive, and stops constraining it.
  await club.press("Silver", "Deactivate Silver");
  await expect(club.stage("Silver")).toContainText("Inactive");
  await expect(club.stage("Silver").getByRole("button", { name: "Activate Silver" })).toBeVisible();

  // Reorder: the retired Silver moves down to the bottom of the ladder.
  await club.press("Silver", "Move down: Silver");
  await club.expectNames(["Platinum", "Gold", "Bronze", "Silver"]);

  // The order survives a reload: it is stored, not just drawn.
  await club.goto();
  await club.expectNames(["Platinum", "Gold", "Bronze", "Silver"]);
  await expect(club.stage("Silver")).toContainText("Inactive");
  expect(errors).toEqual([]);
});

test("a stage is edited in place and an out-of-range value gets a clear message", async ({ page }, info) => {
  const { email, password, hydrated } = accountFor(info);
  const login = new LoginPage(page, hydrated);
  await login.goto("/admin/club");
  await login.signIn(email, password);
  await expect(page).toHaveURL(/^[^?]*\/admin\/club$/);
  const club = new ClubPage(page, hydrated);
  await club.goto();

  const gold = club.stage("Gold");
  await gold.getByText("Edit", { exact: true }).click();
  const form = gold.getByRole("form", { name: "Edit Gold" });
  await form.getByLabel("Discount (%)").fill("150");
  await form.getByRole("button", { name: "Save Gold" }).click();
  await expect(club.alert()).toContainText("Gold: discount must be above 0% and at most 100%.");

  await club.goto();
  await club.stage("Gold").getByText("Edit", { exact: true }).click();
  const again = club.stage("Gold").getByRole("form", { name: "Edit Gold" });
  await expect(again.getByLabel("Discount (%)")).toHaveValue("20");
  await again.getByLabel("Minimum purchase").fill("350");
  await again.getByRole("button", { name: "Save Gold" }).click();
  await expect(club.stage("Gold")).toContainText("$350.00");
});
