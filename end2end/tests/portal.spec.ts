import AxeBuilder from "@axe-core/playwright";
import { expect, type Locator, type Page, test } from "@playwright/test";
import { LoginPage, settled } from "./pages/session";

/** Clicks a form's button and waits for its server function's answer (a redirect without
 * JavaScript), so what follows never races the post. */
async function submit(page: Page, button: Locator, endpoint: string) {
  const answered = page.waitForResponse((r) => r.url().includes(`/api/${endpoint}`));
  await button.click();
  await answered;
}

/** axe-core (WCAG 2.1 A/AA) finds no serious or critical violation on the page. It needs
 * JavaScript, so it runs in the hydrated project only. */
async function accessible(page: Page, hydrated: boolean) {
  if (!hydrated) return;
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const serious = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${page.url()} ${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
  expect(serious).toEqual([]);
}

/** The newest sign-in link e-mailed to `email`, read from the sandbox provider's outbox as the
 * winery's admin sees it. */
async function linkFromOutbox(page: Page, hydrated: boolean, admin: string, email: string): Promise<string> {
  const login = new LoginPage(page, hydrated);
  const outbox = `/admin/messages/outbox?kind=portal_sign_in&status=&member=${encodeURIComponent(email)}`;
  await login.goto(outbox);
  await login.signIn(admin, "e2e-password");
  await expect(page).toHaveURL(/\/admin\/messages\/outbox/);
  await settled(page, hydrated);
  const table = page.getByRole("table", { name: "Messages" });
  await expect(table).toContainText("Portal sign-in link");
  await table.locator("tbody tr").first().getByRole("link").first().click();
  const text = (await page.getByTestId("message-text").textContent()) ?? "";
  const link = text.match(/https?:\/\/\S+\/sign-in\?token=\S+/);
  expect(link, text).not.toBeNull();
  return new URL(link![0]).pathname + new URL(link![0]).search;
}

// The member portal, with JavaScript on and off, each in its own 30-customer demo winery whose
// portal member (member@example.com) is a Silver member with 400 points and texts on: ask for a
// link, read it from the sandbox outbox, sign in, check the renewal and upgrade amounts, redeem a
// reward (and be refused one that costs too much), turn texts off, and sign out.
test("a member signs in by e-mailed link, sees what to spend, redeems a reward, turns texts off and signs out", async ({ page }, info) => {
  const hydrated = info.project.name !== "no-js";
  const slug = hydrated ? "e2e-pjs" : "e2e-pnojs";
  const admin = hydrated ? "pjs@e2e.test" : "pnojs@e2e.test";
  const home = `/m/${slug}`;

  // The portal is laid out for a phone.
  await page.setViewportSize({ width: 375, height: 740 });

  // A malformed address is refused in words; then the real one gets the same "check your inbox".
  await page.goto(home);
  await settled(page, hydrated);
  await expect(page.getByRole("heading", { name: "Member sign-in" })).toBeVisible();
  await page.getByLabel("E-mail address").fill("member@example");
  await submit(page, page.getByRole("button", { name: "Send me a sign-in link" }), "portal/request-link");
  await expect(page.getByRole("alert")).toContainText("Please check the e-mail address");
  await page.getByLabel("E-mail address").fill("member@example.com");
  await submit(page, page.getByRole("button", { name: "Send me a sign-in link" }), "portal/request-link");
  await expect(page.getByTestId("link-sent")).toContainText("Check your inbox");
  // An address nobody uses gets exactly the same answer.
  await page.getByLabel("E-mail address").fill("nobody-here@example.com");
  await submit(page, page.getByRole("button", { name: "Send me a sign-in link" }), "portal/request-link");
  await expect(page.getByTestId("link-sent")).toContainText("Check your inbox");

  // The link, from the outbox; the admin signs out again before the member signs in.
  await page.setViewportSize({ width: 1280, height: 720 });
  const link = await linkFromOutbox(page, hydrated, admin, "member@example.com");
  await page.context().clearCookies();
  await page.setViewportSize({ width: 375, height: 740 });

  // A tampered link is refused with a friendly message, and does not spend the real one.
  const tampered = link.replace(/token=(.)/, (_, c: string) => `token=${c === "A" ? "B" : "A"}`);
  await page.goto(tampered);
  await settled(page, hydrated);
  await submit(page, page.getByRole("button", { name: "Sign in" }), "portal/sign-in");
  await expect(page.getByRole("alert")).toContainText("This sign-in link is not valid");

  await page.goto(link);
  await settled(page, hydrated);
  await submit(page, page.getByRole("button", { name: "Sign in" }), "portal/sign-in");

  // The status: Silver, what renews it and what reaches Gold (the demo ladder: $150 and $300).
  await expect(page).toHaveURL(new RegExp(`${home}$`));
  await settled(page, hydrated);
  await expect(page.getByRole("heading", { name: "Hello, Avery" })).toBeVisible();
  await expect(page.getByTestId("portal-stage")).toContainText("Silver · 15% off every order");
  await expect(page.getByTestId("portal-renew")).toContainText(/^Spend \$150\.00 in one order by \w+ \d+, \d{4} to renew\.$/);
  await expect(page.getByTestId("portal-upgrade")).toHaveText("Spend $300.00 in one order to reach Gold (20%).");
  await expect(page.getByTestId("portal-balance")).toContainText("400 points");
  await expect(page.getByTestId("portal-saved")).toContainText("$129.90");
  // Nothing is wider than the phone's screen.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
  await accessible(page, hydrated);

  // Rewards: the harvest dinner costs more than she has; the corkscrew (300) does not.
  await page.getByRole("link", { name: "See rewards" }).click();
  await settled(page, hydrated);
  await expect(page.getByTestId("rewards-balance")).toHaveText("400 points");
  await expect(page.getByText("Not enough points: this reward costs 4000 points")).toBeVisible();
  await page.getByRole("link", { name: "Redeem Winery corkscrew" }).click();
  await settled(page, hydrated);
  await expect(page.getByTestId("balance-after")).toHaveText("100 points");
  await accessible(page, hydrated);
  const confirmPage = page.url();
  await submit(page, page.getByRole("button", { name: "Confirm redemption" }), "portal/redeem");
  await expect(page.getByTestId("redeemed")).toContainText("You redeemed Winery corkscrew. Your balance is now 100 points.");
  await expect(page.getByTestId("redemption-history")).toContainText("Requested");
  // Redeeming the tasting (1500) now: refused with the reason, balance unchanged.
  const tasting = page.getByRole("listitem").filter({ hasText: "Library tasting for two" });
  await expect(tasting).toContainText("Not enough points");
  // Confirming the corkscrew again (from its confirmation page) is refused in words.
  await page.goto(confirmPage);
  await settled(page, hydrated);
  await submit(page, page.getByRole("button", { name: "Confirm redemption" }), "portal/redeem");
  await expect(page.getByRole("alert")).toContainText("Not enough points: this reward costs 300 points and the balance is 100.");

  // Messages: texts are on; switch them off.
  await page.goto(`${home}/rewards`);
  await page.getByRole("link", { name: "Messages" }).click();
  await settled(page, hydrated);
  await expect(page.getByTestId("sms-state")).toContainText("Texts are on for +15555550123");
  await page.getByLabel("Yes, send me texts").uncheck();
  await submit(page, page.getByRole("button", { name: "Save my choices" }), "portal/save-messages");
  await expect(page.getByTestId("messages-saved")).toBeVisible();
  await expect(page.getByTestId("sms-state")).toHaveText("Texts are off.");
  await expect(page.getByLabel("Yes, send me texts")).not.toBeChecked();
  await accessible(page, hydrated);

  // The printable statement.
  await page.getByRole("link", { name: "Statement" }).click();
  await settled(page, hydrated);
  await expect(page.getByRole("heading", { name: "Savings statement" })).toBeVisible();
  await expect(page.getByTestId("statement-history")).toContainText("Joined Silver");
  await accessible(page, hydrated);

  // Sign out: the status page asks for an address again, and the old session is gone.
  await submit(page, page.getByRole("button", { name: "Sign out" }), "portal/sign-out");
  await expect(page.getByText("You are signed out.")).toBeVisible();
  await page.goto(`${home}/rewards`);
  await expect(page.getByRole("heading", { name: "Please sign in" })).toBeVisible();

  // The used link is refused with a friendly message.
  await page.goto(link);
  await settled(page, hydrated);
  await submit(page, page.getByRole("button", { name: "Sign in" }), "portal/sign-in");
  await expect(page.getByRole("alert")).toContainText("already been used");
});
