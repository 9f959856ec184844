import { readFile } from "node:fs/promises";
import { expect, test } from "@playwright/test";
import { LoginPage, accountFor } from "./pages/session";

// The admin's home: every chart drawn (with and without JavaScript), a tooltip and a series toggle
// once hydrated, a figure's link opening the member list it counts, and bad periods refused
// clearly. Each project works in its own 30-customer demo winery (e2e-djs, e2e-dnojs).
test("the dashboard draws every chart and its figures lead to the members they count", async ({ page }, info) => {
  const { hydrated } = accountFor(info);
  const email = hydrated ? "djs@e2e.test" : "dnojs@e2e.test";
  const login = new LoginPage(page, hydrated);
  await login.goto("/admin");
  await login.signIn(email, "e2e-password");
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();

  // Two years of history, so every chart has something to draw.
  const today = new Date();
  const from = new Date(today.getTime() - 700 * 86_400_000).toISOString().slice(0, 10);
  const period = page.getByRole("form", { name: "Period" });
  await period.getByLabel("From").fill(from);
  await period.getByRole("button", { name: "Show" }).click();
  await expect(page).toHaveURL(new RegExp(`from=${from}`));

  await expect(page.locator("#members-by-stage svg path.band").first()).toBeVisible();
  expect(await page.locator("#members-by-stage svg path.band").count()).toBe(3);
  expect(await page.locator("#flows svg rect.bar").count()).toBe(48);
  expect(await page.locator("#expiry-calendar svg rect.day").count()).toBe(90);
  expect(await page.locator("#points svg rect.bar").count()).toBe(24);
  expect(await page.locator("#revenue svg rect.bar").count()).toBe(24);
  for (const id of ["members-by-stage", "flows", "points", "revenue"]) {
    expect(await page.locator(`#${id} svg rect.hit`).count()).toBe(12);
  }

  if (hydrated) {
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
    // The tooltip shows the hovered month's values, the same as the chart's data table.
    const lastRow = page.locator("#revenue details.data tbody tr").last();
    const month = (await lastRow.locator("th").textContent()) ?? "";
    const members = (await lastRow.locator("td").first().textContent()) ?? "";
    await page.locator('#revenue svg rect.hit[data-index="11"]').hover();
    const tip = page.getByTestId("revenue-tooltip");
    await expect(tip).toBeVisible();
    await expect(tip).toContainText(`${month} — Members: ${members}`);
    // Keyboard: focus reaches a month and shows its tooltip too.
    await page.locator('#flows svg rect.hit[data-index="11"]').focus();
    await expect(page.getByTestId("flows-tooltip")).toContainText("New:");
    // Toggling a series takes its bars out and its values out of the tooltip.
    await page.locator("#flows .legend").getByRole("button", { name: "New", exact: true }).click();
    await expect(page.locator("#flows .legend").getByRole("button", { name: "New", exact: true })).toHaveAttribute("aria-pressed", "false");
    await expect(page.locator("#flows svg rect.bar")).toHaveCount(36);
    await page.locator('#flows svg rect.hit[data-index="10"]').focus();
    await expect(page.getByTestId("flows-tooltip")).not.toContainText("New:");
  }

  // A stage's figure opens the list of that stage's active members, and the counts agree.
  const gold = page.locator('[data-figure="stage-Gold"]');
  const count = Number(((await gold.locator("strong").textContent()) ?? "").replace(/,/g, ""));
  await gold.click();
  await expect(page).toHaveURL(/\/admin\/members\?stage=[0-9a-f-]+&status=active/);
  await expect(page.getByRole("heading", { name: "Members" })).toBeVisible();
  if (count === 0) {
    await expect(page.getByText("No members match.")).toBeVisible();
  } else {
    await expect(page.locator("table.members tbody tr")).toHaveCount(count);
    await expect(page.locator("table.members tbody tr").first()).toContainText("Gold");
  }

  // The list downloads as CSV: a header and one row per member shown.
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download these members (CSV)" }).click(),
  ]);
  const csv = await readFile(await download.path(), "utf8");
  const lines = csv.trim().split("\r\n");
  expect(lines[0]).toBe("email,name,stage,expires,flagged,membership_days");
  expect(lines.length - 1).toBe(count);
  if (count > 0) expect(lines[1]).toContain(",Gold,");

  // A movement figure opens the members with that movement in the period.
  await page.goBack();
  await page.locator('[data-figure="joined"]').click();
  await expect(page).toHaveURL(/event=joined/);
  await expect(page.getByTestId("event-filter")).toContainText(`Members who joined between ${from} and`);

  // The stage builder's what-if: a lower Gold minimum, previewed before anything is saved.
  await page.goto("/admin/club");
  const gold_card = page.getByRole("article", { name: "Gold" });
  await gold_card.getByText("What if…").click();
  const what_if = gold_card.getByRole("form", { name: "What if Gold changed" });
  await what_if.getByLabel("Minimum purchase").fill("200");
  await what_if.getByRole("button", { name: "Show the effect" }).click();
  await expect(page).toHaveURL(/whatif=.*min_purchase=200/);
  const effect = page.getByRole("article", { name: "Gold" }).getByTestId("what-if");
  await expect(effect).toContainText(/would have qualified for Gold under the new minimum \(\$200\.00\)|No current member of a lower stage reached \$200\.00/);
  await expect(page.getByRole("form", { name: "Edit Gold" }).getByLabel("Minimum purchase")).toHaveValue("200.00");

  // Bad input: a period ending before it starts, a malformed date, an unknown stage.
  await page.goto("/admin?from=2026-05-02&to=2026-05-01");
  await expect(page.getByRole("alert")).toHaveText("The period ends (2026-05-01) before it starts (2026-05-02).");
  await expect(page.getByRole("form", { name: "Period" })).toBeVisible();
  await page.goto("/admin/members?event=joined&from=yesterday");
  await expect(page.getByRole("alert")).toContainText("is not a date");
  await page.goto("/admin/members?stage=not-a-stage");
  await expect(page.getByRole("alert")).toHaveText("That stage does not exist.");
});
