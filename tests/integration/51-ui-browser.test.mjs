// The web UI in a real browser (headless Chromium, driven by playwright-core) against the real
// binary, through a proxy that serves it below an ingress prefix with X-Ingress-Path, as Home
// Assistant's Supervisor does. Screenshots go to build/test-artifacts/ui/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { is_mosquitto, test_user } from '../support/broker.mjs';
import { child_program, run_program } from '../support/child_process.mjs';
import { wait_until, with_deadline } from '../support/deadline.mjs';
import { start_broker_with_ingress, ingress_proxy } from '../support/ingress.mjs';
import { connect_mqtt_js, end, publish, subscribe } from '../support/mqtt_client.mjs';

const skip = is_mosquitto ? 'Mosquitto has no web UI' : false;
const chromium_path = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const artifacts = fileURLToPath(new URL('../../build/test-artifacts/ui/', import.meta.url));
const wait_ms = 10000;

let broker;
let proxy;
let browser;
let page;

async function screenshot(name) {
  fs.mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

async function show_tab(name) {
  await page.click(`#tabs button[data-tab="${name}"]`);
}

before(async () => {
  if (skip) return;
  broker = await start_broker_with_ingress();
  proxy = await new ingress_proxy(broker.ingress_port).start();
  // As root (CI containers) Chromium refuses to start without --no-sandbox.
  browser = await chromium.launch({
    executablePath: chromium_path,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: wait_ms,
  });
  // Retained before anyone opened the page: the tree must show it too.
  const early = await run_program('mosquitto_pub', [
    '-h', '127.0.0.1', '-p', String(broker.port), '-u', test_user.username, '-P', test_user.password,
    '-t', 'ui/early', '-m', 'retained before the page opened', '-r',
  ], wait_ms);
  assert.equal(early.code, 0, early.describe);
  page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  page.setDefaultTimeout(wait_ms);
  await page.goto(proxy.url);
  await page.waitForSelector('#live.on'); // the live-update WebSocket is open
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
  await broker?.stop();
});

test('the client list shows a client MQTT.js connected, live, and can disconnect it', { skip }, async () => {
  const mqtt_js = await connect_mqtt_js(broker.port, { clientId: 'ui-mqttjs-client' });
  await subscribe(mqtt_js.client, ['ui/some/filter']);
  const closed = new Promise((resolve) => mqtt_js.client.once('close', resolve));
  // No reload: the row comes through the live updates.
  const row = page.locator('tr[data-client-id="ui-mqttjs-client"]');
  await row.waitFor();
  const cells = await row.locator('td').allTextContents();
  assert.equal(cells[1], test_user.username);
  assert.match(cells[2], /^127\.0\.0\.1:\d+$/);
  assert.equal(cells[3], 'MQTT 3.1.1 / mqtt');
  assert.equal(cells[5], '1'); // one subscription
  await screenshot('clients');

  await row.locator('button', { hasText: 'Disconnect' }).click();
  await page.waitForSelector('#confirm[open]');
  await page.click('#confirm-yes');
  await with_deadline(closed, wait_ms, 'the broker to close the MQTT.js connection');
  await row.waitFor({ state: 'detached' });
  mqtt_js.client.end(true);
});

test('the topic tree shows a retained message published with mosquitto_pub', { skip }, async () => {
  const publisher = await run_program('mosquitto_pub', [
    '-h', '127.0.0.1', '-p', String(broker.port), '-u', test_user.username, '-P', test_user.password,
    '-t', 'ui/house/kitchen/climate', '-m', '{"temperature":21.5,"unit":"C"}', '-r', '-q', '1',
  ], wait_ms);
  assert.equal(publisher.code, 0, publisher.describe);
  await show_tab('topics');
  await page.fill('#filter', 'ui/#');
  await page.click('#search button[type=submit]');
  const node = page.locator('[data-topic="ui/house/kitchen/climate"]');
  await node.waitFor();
  assert.match(await node.textContent(), /retained/);
  assert.match(await page.textContent('[data-topic="ui/early"]'), /retained before the page opened/);
  await node.click();
  // Pretty-printed JSON, two spaces per level.
  await wait_until(
    async () => (await page.textContent('#payload')).includes('"temperature": 21.5'),
    wait_ms,
    'the payload shown as JSON',
  );
  await screenshot('topics');
  await page.click('.views button:has-text("Hex")');
  assert.match(await page.textContent('#payload'), /^000000 {2}7b 22 74 65/);
  await page.click('.views button:has-text("Auto")');
});

test('a message published from the page reaches a mosquitto_sub subscriber', { skip }, async () => {
  const sub = new child_program('mosquitto_sub', [
    '-h', '127.0.0.1', '-p', String(broker.port), '-u', test_user.username, '-P', test_user.password,
    '-i', 'ui-mosquitto-sub', '-t', 'ui/from/page', '-C', '1', '-v', '-q', '1',
  ]);
  try {
    // Subscribed once the broker lists its subscription.
    await page.waitForFunction(
      () => document.querySelector('tr[data-client-id="ui-mosquitto-sub"] td:nth-child(6)')
        ?.textContent === '1',
    );
    await page.fill('#pub-topic', 'ui/from/page');
    await page.fill('#pub-payload', 'hello from the browser');
    await page.selectOption('#pub-qos', '1');
    await page.click('#pub-send');
    await page.waitForSelector('#pub-result.ok');
    const { code } = await sub.wait_exit(wait_ms);
    assert.equal(code, 0, sub.describe());
    assert.equal(sub.stdout.trim(), 'ui/from/page hello from the browser');
  } finally {
    sub.kill();
  }
});

test('deleting a retained message from the page removes it', { skip }, async () => {
  const node = page.locator('[data-topic="ui/house/kitchen/climate"]');
  await node.click();
  await page.click('#delete-retained');
  await page.waitForSelector('#confirm[open]');
  await screenshot('confirm-delete');
  await page.click('#confirm-yes');
  await node.waitFor({ state: 'detached' }); // the tree follows the broker

  // A new subscriber gets no retained message any more (the marker comes after any retained).
  const probe = await connect_mqtt_js(broker.port);
  await subscribe(probe.client, ['ui/house/kitchen/climate', 'ui/marker'], 1);
  await publish(probe.client, 'ui/marker', 'm', { qos: 1 });
  await probe.inbox.wait_for_topic('ui/marker');
  assert.deepEqual(probe.inbox.before_marker('ui/marker'), []);
  await end(probe.client);
});

test('the events show a refused login, without its password', { skip }, async () => {
  const refused = await run_program('mosquitto_pub', [
    '-h', '127.0.0.1', '-p', String(broker.port), '-u', test_user.username,
    '-P', 'wrong-secret-9431', '-i', 'ui-bad-login', '-t', 'x', '-m', 'y',
  ], wait_ms);
  assert.notEqual(refused.code, 0);
  await show_tab('events');
  const row = page.locator('tr.event.login_refused', { hasText: 'ui-bad-login' });
  await row.waitFor();
  assert.doesNotMatch(await page.textContent('#events'), /wrong-secret-9431/);
  await show_tab('options');
  assert.doesNotMatch(await page.textContent('#options'), new RegExp(test_user.password));
  assert.match(await page.textContent('#options'), /\*\*\*\*\*\*\*\*/);
  await show_tab('events');
  await screenshot('events');
});

test('every request of the page stayed below the ingress prefix', { skip }, async () => {
  assert.ok(proxy.requests.length > 5, `requests seen: ${proxy.requests.join(' ')}`);
  assert.deepEqual(proxy.stray_requests(), []);
});
