import { expect, type Page } from "@playwright/test";
import { settled } from "./session";

const HEADER = "order_id,customer_email,first_name,last_name,placed_at,subtotal,discount,tax,shipping,total,status";

/** An order file whose dates are `daysAgo` days before now, so the memberships are current. */
export function ordersCsv(rows: [string, string, string, string, number, number, string][]): string {
  const lines = rows.map(([id, email, first, last, daysAgo, dollars, status]) => {
    const placed = new Date(Date.now() - daysAgo * 86_400_000).toISOString();
    return [id, email, first, last, placed, dollars.toFixed(2), "0", "0", "0", dollars.toFixed(2), status].join(",");
  });
  return [HEADER, ...lines].join("\n") + "\n";
}

/** Import and member pages. */
export class MembersPages {
  constructor(readonly page: Page, readonly hydrated: boolean) {}

  async upload(name: string, csv: string) {
    await this.page.goto("/admin/import");
    await settled(this.page, this.hydrated);
    await this.page.getByLabel("CSV file").setInputFiles({ name, mimeType: "text/csv", buffer: Buffer.from(csv) });
    await this.page.getByRole("button", { name: "Check the file" }).click();
  }

  async search(text: string) {
    await this.page.goto("/admin/members");
    await settled(this.page, this.hydrated);
    await this.page.getByLabel("Name or e-mail").fill(text);
    await this.page.getByRole("button", { name: "Search" }).click();
    await expect(this.page).toHaveURL(/q=/);
  }

  async open(name: string) {
    await this.page.getByRole("link", { name, exact: true }).click();
    await expect(this.page.getByRole("heading", { level: 1, name })).toBeVisible();
    await settled(this.page, this.hydrated);
  }

  status() {
    return this.page.getByTestId("member-status");
  }
}
