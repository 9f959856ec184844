import { expect, test } from "@playwright/test";
import { ClubPage } from "./pages/club";
import { accountFor, LoginPage } from "./pages/session";

// With JavaScript, the shared domain rules check the form while the admin types.
test("the add form flags a bad minimum before it is submitted", async ({ page }, info) => {
  // Its own winery, so the journeys in club.spec.ts start from the seeded ladder.
  const { password, hydrated } = accountFor(info);
  const email = "live@e2e.test";
  const login = new LoginPage(page, hydrated);
  await login.goto("/admin/club");
  await login.signIn(email, password);
  await expect(page).toHaveURL(/^[^?]*\/admin\/club$/);
  const club = new ClubPage(page, hydrated);
  await club.goto();

  const form = club.addForm();
  await club.fillStage(form, { name: "Copper", discount: "5", months: "1", minimum: "10" });
  const hint = form.getByTestId("live-check");
  await expect(hint).toContainText("Copper: minimum purchase (10.00) must be more than");

  // Choosing the bottom of the ladder makes it valid, and the hint clears.
  await form.getByLabel("Position").selectOption({ index: (await form.getByLabel("Position").locator("option").count()) - 1 });
  await expect(hint).toHaveText("");
  await form.getByRole("button", { name: "Add stage" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Copper added." })).toBeVisible();
  const names = await club.names();
  expect(names[names.length - 1]).toBe("Copper");
});
