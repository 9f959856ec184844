import { expect, type Page, test } from "@playwright/test";
import { LoginPage, settled } from "./pages/session";

/** The member's balance as the member page shows it. */
async function balance(page: Page): Promise<number> {
  const text = (await page.getByTestId("points-balance").textContent()) ?? "";
  const points = Number.parseInt(text, 10);
  expect(Number.isNaN(points), `balance text "${text}"`).toBe(false);
  return points;
}

// Loyalty from the admin's side: save the settings, add a reward, give a member points, redeem the reward for
// them, then fulfil one redemption and cancel another, whose points come back. Runs hydrated
// and without JavaScript, each in its own winery.
test("an admin saves the loyalty settings, adds a reward, redeems it for a member, fulfils one redemption and cancels another", async ({ page }, info) => {
  const hydrated = info.project.name !== "no-js";
  const login = new LoginPage(page, hydrated);
  await login.goto("/admin/loyalty");
  await login.signIn(hydrated ? "ljs@e2e.test" : "lnojs@e2e.test", "e2e-password");
  await expect(page).toHaveURL(/^[^?]*\/admin\/loyalty$/);
  await expect(page.getByRole("heading", { level: 1, name: "Loyalty" })).toBeVisible();
  await settled(page, hydrated);
  // A fresh name each run, so a rerun against the same database finds only its own reward.
  const tour = `Cellar tour ${Date.now().toString(36).slice(-5)}`;

  // Settings: a bonus that is not a number is refused; a good one is kept.
  const settings = page.getByRole("form", { name: "Loyalty settings" });
  await settings.getByLabel("Bonus (%)").fill("lots");
  await settings.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByRole("alert")).toContainText("bonus");
  await settled(page, hydrated);
  await settings.getByLabel("Bonus (%)").fill("10");
  await settings.getByRole("button", { name: "Save settings" }).click();
  if (hydrated) {
    await expect(page.getByRole("status")).toHaveText("Loyalty settings saved.");
  } else {
    await page.waitForURL(/\/admin\/loyalty\??$/);
  }
  await page.reload();
  await expect(settings.getByLabel("Bonus (%)")).toHaveValue("10");
  await settled(page, hydrated);

  // A reward with a cost that is not a number is refused with a sentence, and nothing is added.
  const add = page.getByRole("form", { name: "Add a reward" });
  await add.getByLabel("Name").fill(tour);
  await add.getByLabel("Points required").fill("lots");
  await add.getByRole("button", { name: "Add reward" }).click();
  await expect(page.getByRole("alert")).toContainText("The cost must be a whole number of points above 0.");
  await expect(page.getByRole("heading", { level: 3, name: tour })).toHaveCount(0);

  // The reward is added with a stock of five.
  await settled(page, hydrated);
  await add.getByLabel("Type").selectOption({ label: "Tasting" });
  await add.getByLabel("Name").fill(tour);
  await add.getByLabel("Points required").fill("200");
  await add.getByLabel("Stock (empty: no limit)").fill("5");
  await add.getByRole("button", { name: "Add reward" }).click();
  const card = page.getByRole("article", { name: tour });
  await expect(card).toContainText("0 of 5 redeemed");

  // Pick a member and give them 500 bonus points (a non-number is refused first).
  await page.goto("/admin/members");
  await page.getByRole("table").getByRole("link").first().click();
  const name = ((await page.getByRole("heading", { level: 1 }).textContent()) ?? "").trim();
  await settled(page, hydrated);
  const start = await balance(page);
  const adjust = page.getByRole("form", { name: "Adjust points" });
  await page.getByText("Adjust points", { exact: true }).first().click();
  await adjust.getByLabel("Points", { exact: true }).fill("ten");
  await adjust.getByLabel("Reason (the member sees it)").fill("Welcome gift");
  await adjust.getByRole("button", { name: "Adjust points" }).click();
  await expect(page.getByRole("alert")).toContainText("Enter a whole number of points");
  await expect(page.getByTestId("points-balance")).toHaveText(`${start} points`);

  await settled(page, hydrated);
  if (!(await adjust.isVisible())) {
    await page.getByText("Adjust points", { exact: true }).first().click();
  }
  await adjust.getByLabel("Points", { exact: true }).fill("500");
  await adjust.getByLabel("Reason (the member sees it)").fill("Welcome gift");
  await adjust.getByRole("button", { name: "Adjust points" }).click();
  await expect(page.getByTestId("points-balance")).toHaveText(`${start + 500} points`);
  const ledger = page.getByRole("table", { name: "Points ledger" });
  await expect(ledger.getByRole("row").nth(1)).toContainText("Welcome gift");

  // Redeem the tour twice: the balance drops by 200 each time and the ledger shows it.
  const redeem = page.getByRole("form", { name: "Redeem a reward" });
  for (const after of [start + 300, start + 100]) {
    await settled(page, hydrated);
    await redeem.getByLabel("Reward").selectOption({ label: `${tour} (200 points)` });
    await redeem.getByRole("button", { name: "Redeem for this member" }).click();
    await expect(page.getByTestId("points-balance")).toHaveText(`${after} points`);
  }
  await expect(ledger.getByRole("row").nth(1)).toContainText(`Redeemed ${tour}`);
  await expect(ledger.getByRole("row").nth(1)).toContainText("-200");
  await expect(page.getByRole("table", { name: "Redemptions" })).toContainText(tour);

  // The queue: fulfil one, cancel the other.
  await page.goto("/admin/loyalty");
  await settled(page, hydrated);
  const what = `${tour} for ${name}`;
  await expect(page.getByRole("button", { name: `Fulfil ${what}` })).toHaveCount(2);
  await page.getByRole("button", { name: `Fulfil ${what}` }).first().click();
  await expect(page.getByRole("button", { name: `Refund ${what}` })).toHaveCount(1);
  await settled(page, hydrated);
  await page.getByRole("button", { name: `Cancel ${what}` }).click();
  await expect(page.getByRole("button", { name: `Cancel ${what}` })).toHaveCount(0);
  await expect(page.getByRole("button", { name: `Fulfil ${what}` })).toHaveCount(0);
  // The cancelled one freed its stock.
  await expect(card).toContainText("1 of 5 redeemed");

  // The ledger check finds every balance equal to its ledger.
  await settled(page, hydrated);
  await page.getByRole("button", { name: "Check now" }).click();
  await expect(page.getByTestId("ledger-check")).toContainText("ledgers add up");

  // The cancelled redemption's points are back on the member's balance.
  await page.getByRole("link", { name }).first().click();
  await expect(page.getByTestId("points-balance")).toHaveText(`${start + 300} points`);
  await expect(ledger.getByRole("row").nth(1)).toContainText(`${tour} cancelled: points returned`);
});
