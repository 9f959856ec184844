import { expect, type Locator, type Page } from "@playwright/test";
import { settled } from "./session";

export type StageInput = { name: string; discount: string; months: string; minimum: string };

/** The stage builder at /admin/club. */
export class ClubPage {
  constructor(readonly page: Page, readonly hydrated: boolean) {}

  async goto() {
    await this.page.goto("/admin/club");
    await settled(this.page, this.hydrated);
  }

  ladder(): Locator {
    return this.page.getByRole("region", { name: "Stage ladder" });
  }

  /** Stage names as shown, from the top of the ladder down. */
  async names(): Promise<string[]> {
    return this.ladder().getByRole("heading", { level: 3 }).allTextContents();
  }

  async expectNames(names: string[]) {
    await expect(this.ladder().getByRole("heading", { level: 3 })).toHaveText(names);
  }

  stage(name: string): Locator {
    return this.ladder().getByRole("article", { name, exact: true });
  }

  addForm(): Locator {
    return this.page.getByRole("form", { name: "Add a stage" });
  }

  async fillStage(form: Locator, stage: StageInput) {
    await form.getByLabel("Name").fill(stage.name);
    await form.getByLabel("Discount (%)").fill(stage.discount);
    await form.getByLabel("Duration (months)").fill(stage.months);
    await form.getByLabel("Minimum purchase").fill(stage.minimum);
  }

  async addStage(stage: StageInput, position?: string) {
    const form = this.addForm();
    await this.fillStage(form, stage);
    if (position) {
      await form.getByLabel("Position").selectOption({ label: position });
    }
    await form.getByRole("button", { name: "Add stage" }).click();
  }

  async press(stage: string, button: string) {
    await this.stage(stage).getByRole("button", { name: button, exact: true }).click();
  }

  alert(): Locator {
    return this.page.getByRole("alert");
  }
}
