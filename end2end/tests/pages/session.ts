import { expect, type Page, type TestInfo } from "@playwright/test";

/** The winery each project works in, seeded by `make test` so the two projects never collide. */
export function accountFor(info: TestInfo) {
  const project = info.project.name === "no-js" ? "nojs" : "js";
  return { email: `${project}@e2e.test`, password: "e2e-password", hydrated: project === "js" };
}

/** Waits until the WebAssembly has hydrated the page (the app marks <body>), when JS is on. */
export async function settled(page: Page, hydrated: boolean) {
  if (hydrated) {
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  }
}

export class LoginPage {
  constructor(readonly page: Page, readonly hydrated: boolean) {}

  async goto(path = "/login") {
    await this.page.goto(path);
    await settled(this.page, this.hydrated);
  }

  async signIn(email: string, password: string) {
    await this.page.getByLabel("E-mail address").fill(email);
    await this.page.getByLabel("Password").fill(password);
    await this.page.getByRole("button", { name: "Sign in" }).click();
  }
}
