import { expect, type Locator, type Page, test } from "@playwright/test";
import { LoginPage, settled } from "./pages/session";

/** Loads `path` until `check` passes (the workers run in the background). */
async function eventually(page: Page, path: string, check: () => Promise<void>) {
  await expect(async () => {
    await page.goto(path);
    await check();
  }).toPass({ timeout: 30_000, intervals: [500, 1_000, 2_000] });
}

/** Clicks a form's button and waits for its server function's answer (a redirect without
 * JavaScript), so what follows never races the post. */
async function submit(page: Page, button: Locator, endpoint: string) {
  const answered = page.waitForResponse((r) => r.url().includes(`/api/${endpoint}`));
  await button.click();
  await answered;
}

/** A local date-time for a `datetime-local` input. */
function localInput(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

/** Sends an order through the sandbox CRM's real webhook receiver. */
async function simulateOrder(page: Page, hydrated: boolean, email: string, last: string) {
  await page.goto("/admin/connection");
  await settled(page, hydrated);
  const form = page.getByRole("form", { name: "Simulate an order" });
  await form.getByLabel("E-mail address").fill(email);
  await form.getByLabel("First name").fill("Wanda");
  await form.getByLabel("Last name").fill(last);
  await form.getByLabel("Amount ($)").fill("90");
  // The server function's answer means the order was handled, with or without JavaScript.
  await submit(page, form.getByRole("button", { name: "Send the order" }), "sync/simulate");
  if (hydrated) {
    await expect(page.getByRole("status")).toContainText("was sent through the webhook receiver");
  }
}

/** Runs the warning job from the demo's box as of `asOf`. */
async function runWarnings(page: Page, hydrated: boolean, asOf: string) {
  await page.goto("/admin/messages");
  await settled(page, hydrated);
  const box = page.getByRole("form", { name: "Run a job now" });
  await box.getByLabel("Job").selectOption({ label: "Run expiration warnings" });
  await box.getByLabel(/As of/).fill(asOf);
  await submit(page, box.getByRole("button", { name: "Run the job" }), "messages/run-job");
  if (hydrated) {
    await expect(page.getByTestId("run-job-result")).toContainText("lead time 7 days");
  }
}

// Member messages from the admin's side, on the sandbox provider: configure it, edit the
// expiration-warning template while its preview follows, save it, run the warning job as of three
// days before a new member's expiry, read the warning in the outbox, unsubscribe through the link
// in it, and see the next warning (re-armed by a renewal) recorded as skipped. Runs hydrated and
// without JavaScript, each in its own winery.
test("an admin configures the sandbox, edits the warning with a live preview, runs the job, and an unsubscribed member is skipped next time", async ({ page }, info) => {
  const hydrated = info.project.name !== "no-js";
  const run = Date.now().toString(36).slice(-6);
  const email = `warn-${run}@e2e.test`;
  const last = `Warn${run}`;
  const login = new LoginPage(page, hydrated);
  await login.goto("/admin/messages");
  await login.signIn(hydrated ? "ejs@e2e.test" : "enojs@e2e.test", "e2e-password");
  await expect(page).toHaveURL(/\/admin\/messages$/);
  await expect(page.getByRole("form", { name: "Message settings" })).toBeVisible();
  await settled(page, hydrated);

  // A new Bronze member (three months); their welcome goes out through the sandbox.
  const joined = new Date();
  await simulateOrder(page, hydrated, email, last);
  const outbox = (kind: string) => `/admin/messages/outbox?kind=${kind}&status=&member=${encodeURIComponent(email)}`;
  await eventually(page, outbox("welcome"), async () => {
    await expect(page.getByRole("table", { name: "Messages" })).toContainText("sent", { timeout: 1_000 });
  });

  // Configure the sandbox provider with a 7-day lead time.
  await page.goto("/admin/messages");
  await settled(page, hydrated);
  const settings = page.getByRole("form", { name: "Message settings" });
  await settings.getByLabel("E-mail provider").selectOption("sandbox");
  await settings.getByLabel("SMS provider").selectOption("sandbox");
  await settings.getByLabel("Lead time of expiration warnings").selectOption("7");
  await settings.getByLabel("Postal address").fill("1 Vineyard Lane, Napa, CA 94558");
  await submit(page, settings.getByRole("button", { name: "Save" }), "messages/settings/save");
  if (hydrated) {
    await expect(page.getByRole("status").filter({ hasText: "Message settings saved." })).toBeVisible();
    await page.getByRole("button", { name: "Test e-mail connection" }).click();
    await expect(page.getByTestId("connection-result")).toContainText("sandbox is always reachable");
  }
  // A fresh load (not a reload, which could meet the no-JS redirect still in flight).
  await page.goto("/admin/messages");
  await expect(settings.getByLabel("Lead time of expiration warnings")).toHaveValue("7");
  await expect(page.getByTestId("callbacks")).toContainText("/webhooks/comms/twilio/");

  // Edit the warning: the preview follows the typing (hydrated), and the saved template renders.
  const editor = "/admin/messages/templates/expiration_warning/email";
  await page.goto(editor);
  await settled(page, hydrated);
  // A rerun against the same database starts from the default again.
  const status = page.getByTestId("template-status");
  if ((await status.textContent())?.includes("own template")) {
    await submit(page, page.getByRole("button", { name: "Reset to default" }), "messages/templates/reset");
    await page.goto(editor);
    await settled(page, hydrated);
  }
  await expect(status).toHaveText("The default template (not yet changed).");
  const preview = page.getByTestId("preview");
  await expect(preview).toHaveAttribute("srcdoc", /Don(&#x27;|')t lose your/);
  const body = `<h1>Last call, {{ first_name }}</h1>\n<p>{{ days_remaining }} days left: one order of {{ min_purchase_amount }} renews {{ current_stage }}.</p>`;
  if (hydrated) {
    await page.locator("#tpl-html").fill("<h1>Last call, {{ first_name }}");
    await expect(preview).toHaveAttribute("srcdoc", /Last call, Ann/);
    await page.locator("#tpl-html").fill("<h1>Last call, {{ first_name }</h1>");
    await expect(page.locator("#preview-error")).toContainText("line 1");
  }
  await page.locator("#tpl-html").fill(body);
  if (hydrated) {
    await expect(preview).toHaveAttribute("srcdoc", /days left: one order of \$150\.00 renews Silver/);
  }
  await submit(page, page.getByRole("button", { name: "Save", exact: true }), "messages/templates/save");
  // After the save (a plain form post without JavaScript) the template is the winery's own.
  await expect(status).toHaveText("The winery's own template.");
  await page.goto(editor);
  await expect(page.locator("#tpl-html")).toHaveValue(body);
  await expect(preview).toHaveAttribute("srcdoc", /Last call, Ann/);

  // Run the warning job as of three days before the member's expiry.
  const asOf = new Date(joined);
  asOf.setMonth(asOf.getMonth() + 3);
  asOf.setDate(asOf.getDate() - 3);
  await runWarnings(page, hydrated, localInput(asOf));

  // The warning is in the outbox, rendered from the saved template.
  await eventually(page, outbox("expiration_warning"), async () => {
    await expect(page.getByRole("table", { name: "Messages" })).toContainText("sent", { timeout: 1_000 });
  });
  await page.getByRole("table", { name: "Messages" }).getByRole("link").first().click();
  await expect(page.getByTestId("message-status")).toHaveText("sent");
  await expect(page.locator("#message-html")).toHaveAttribute("srcdoc", /Last call, Wanda/);
  const text = (await page.getByTestId("message-text").textContent()) ?? "";
  const link = /Unsubscribe from all: (\S+)/.exec(text)?.[1];
  expect(link, `an unsubscribe link in: ${text}`).toBeTruthy();

  // The member unsubscribes through the link.
  await page.goto(new URL(link as string).pathname);
  await page.getByRole("button", { name: "Unsubscribe from all messages" }).click();
  await expect(page.getByRole("heading", { name: "You are unsubscribed" })).toBeVisible();

  // A renewal moves the expiry, which re-arms the warning; the next run skips the member.
  await simulateOrder(page, hydrated, email, last);
  await eventually(page, outbox("renewed"), async () => {
    await expect(page.getByRole("table", { name: "Messages" })).toContainText("skipped (unsubscribed)", { timeout: 1_000 });
  });
  await runWarnings(page, hydrated, localInput(asOf));
  await page.goto(outbox("expiration_warning"));
  const rows = page.getByRole("table", { name: "Messages" }).getByRole("row");
  await expect(rows.filter({ hasText: "skipped (unsubscribed)" })).toHaveCount(1);
  await expect(rows.filter({ has: page.getByRole("cell", { name: "sent", exact: true }) })).toHaveCount(1);
});
