// Opens a page of the Aspire dashboard in headless Chromium, waits for Blazor to render it, and saves a screenshot.
// Usage: node dashboard-screenshot.mjs <url> <output.png> [--wait-for <text>] [--click] [--viewport <width>x<height>]
//   --wait-for  text to wait for (reloading the page if it is not there yet); --click then clicks it to open its details
import { chromium } from 'playwright-core';

const [url, output, ...options] = process.argv.slice(2);
let waitFor, click = false, width = 1600, height = 1000;
for (let i = 0; i < options.length; i++) {
  switch (options[i]) {
    case '--wait-for': waitFor = options[++i]; break;
    case '--click': click = true; break;
    case '--viewport': [width, height] = options[++i].split('x').map(Number); break;
    // The former third positional argument: wait for the text, then click it.
    default: waitFor = options[i]; click = true;
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width, height } });
  await page.goto(url);
  if (waitFor) {
    const target = page.getByText(waitFor).first();
    for (let attempt = 1; ; attempt++) {
      try {
        await target.waitFor({ timeout: 20000 });
        break;
      } catch (e) {
        if (attempt === 3) throw e;
        await page.reload();
      }
    }
    if (click) await target.click();
  }
  await page.waitForTimeout(2000);
  await page.screenshot({ path: output });
} finally {
  await browser.close();
}
