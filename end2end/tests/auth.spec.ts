import { expect, test } from "@playwright/test";
import { accountFor, LoginPage, settled } from "./pages/session";

test("an admin page sends a visitor who is not signed in to the sign-in page", async ({ page }, info) => {
  const { hydrated } = accountFor(info);
  await page.goto("/admin/club");
  await expect(page).toHaveURL(/\/login\?next=\/admin\/club$/);
  await settled(page, hydrated);
  await expect(page.getByRole("heading", { name: "Sign in to your winery" })).toBeVisible();
});

test("the sign-in page shows the demo login and a wrong password gets a clear error", async ({ page }, info) => {
  const { hydrated } = accountFor(info);
  const login = new LoginPage(page, hydrated);
  await login.goto();
  await expect(page.getByTestId("demo-email")).toHaveText("demo@vinculum.test");
  await expect(page.getByTestId("demo-password")).toHaveText("vinculum-demo");

  await login.signIn("demo@vinculum.test", "not the password");
  await expect(page.getByRole("alert")).toHaveText("The e-mail address or password is incorrect.");
  await expect(page).toHaveURL(/\/login/);
});

test("the demo login opens the demo winery's dashboard", async ({ page }, info) => {
  const { hydrated } = accountFor(info);
  const login = new LoginPage(page, hydrated);
  await login.goto("/");
  await expect(page).toHaveURL(/\/login/);
  await login.signIn("demo@vinculum.test", "vinculum-demo");
  await expect(page).toHaveURL(/^[^?]*\/admin$/);
  await settled(page, hydrated);
  await expect(page.getByTestId("winery-name")).toHaveText("Vinculum Demo Cellars");
  await expect(page.getByRole("heading", { level: 1, name: "Dashboard" })).toBeVisible();
  const stages = page.getByRole("region", { name: "Key figures" }).locator('[data-figure^="stage-"] span');
  await expect(stages).toHaveText(["Gold", "Silver", "Bronze"]);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto("/admin/club");
  await expect(page).toHaveURL(/\/login/);
});
