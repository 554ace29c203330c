// Opens a page of the Aspire dashboard in headless Chromium, waits for Blazor to render it, and saves a screenshot.
// Usage: node dashboard-screenshot.mjs <url> <output.png> [text to wait for, then click to open its details]
import { chromium } from 'playwright-core';

const [url, output, waitFor] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(url);
  if (waitFor) {
    const target = page.getByText(waitFor).first();
    await target.waitFor({ timeout: 30000 });
    await target.click();
  }
  await page.waitForTimeout(2000);
  await page.screenshot({ path: output });
} finally {
  await browser.close();
}
