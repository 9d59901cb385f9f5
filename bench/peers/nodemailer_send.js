#!/usr/bin/env node
// nodemailer contender for bench/harness.py. Needs NODE_PATH=/usr/share/nodejs (Debian's
// node-nodemailer). Prints one JSON object on stdout.
//
//   node nodemailer_send.js idle
//       loads nodemailer and exits (baseline RSS).
//   node nodemailer_send.js pool --host 127.0.0.1 --port P --messages N --connections K --size BYTES
//                                [--nodelay] [--max-seconds T]
//       pooled transport (pool: true, maxConnections K, maxMessages Infinity, secure false,
//       ignoreTLS true); K sends in flight at all times so every pooled connection stays busy.
//       --nodelay gives the pool sockets TCP_NODELAY through `getSocket` (stock nodemailer 6.8
//       leaves Nagle on). --max-seconds stops issuing new messages after T seconds (the stock,
//       Nagle-bound run would otherwise take minutes); the rate is then over what was sent.
//       -> {"messages", "errors", "elapsedSeconds", "messagesPerSecond", "latencyMs": {"p50", "p99"}, "capped"}
//   node nodemailer_send.js one --host 127.0.0.1 --port P [--attach FILE]
//                               [--starttls --ca FILE --servername NAME --user U --password-env VAR]
//       one message on one fresh (non-pooled) connection. -> {"ok", "elapsedSeconds", "error"?}
//
// Host names are refused: nodemailer resolves names with dns.resolve4 (a query to the configured
// name server, which is not on this machine), so only loopback IP literals are accepted.
'use strict';

const net = require('net');
const fs = require('fs');
const nodemailer = require('nodemailer');

const mode = process.argv[2];
if (mode === 'idle') {
    process.stdout.write(JSON.stringify({ ok: true, nodemailer: require('nodemailer/package.json').version }) + '\n');
    process.exit(0);
}

function parseArgs(argv) {
    const out = {};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
        const key = a.slice(2);
        if (['nodelay', 'starttls'].includes(key)) {
            out[key] = true;
        } else {
            if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
            out[key] = argv[++i];
        }
    }
    return out;
}

const args = parseArgs(process.argv.slice(3));
const host = args.host || '127.0.0.1';
if (!['127.0.0.1', '::1'].includes(host)) {
    process.stderr.write(`refusing host ${host}: only 127.0.0.1 or ::1 (no DNS, no egress)\n`);
    process.exit(2);
}
const port = Number(args.port);

// A body of exactly `size` bytes on the wire: 78 characters + CRLF per line, like smtp-source.
function makeBody(size) {
    const parts = [];
    let left = size;
    let n = 0;
    while (left > 0) {
        if (left >= 80) {
            const digit = String(n++ % 10);
            parts.push(digit + 'X'.repeat(77) + '\r\n');
            left -= 80;
        } else {
            parts.push('X'.repeat(left));
            left = 0;
        }
    }
    return parts.join('');
}

function percentile(sorted, p) {
    if (sorted.length === 0) return null;
    const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[idx];
}

function noDelaySocket(options, callback) {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    socket.once('error', err => callback(err));
    socket.once('connect', () => callback(null, { connection: socket }));
}

function pool() {
    const total = Number(args.messages);
    const conns = Number(args.connections || 1);
    const maxSeconds = args['max-seconds'] ? Number(args['max-seconds']) : Infinity;
    const body = makeBody(Number(args.size));
    const options = {
        pool: true,
        maxConnections: conns,
        maxMessages: Infinity,
        host,
        port,
        secure: false,
        ignoreTLS: true,
        name: 'bench.example.com',
    };
    if (args.nodelay) options.getSocket = noDelaySocket;
    const transporter = nodemailer.createTransport(options);

    const latencies = [];
    let started = 0;
    let done = 0;
    let errors = 0;
    let firstError = null;
    let capped = false;
    const t0 = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e9;

    let finished = false;
    function finish() {
        if (finished) return;
        finished = true;
        const seconds = elapsed();
        transporter.close();
        latencies.sort((a, b) => a - b);
        const ok = done - errors;
        const result = {
            messages: ok,
            errors,
            elapsedSeconds: seconds,
            messagesPerSecond: seconds > 0 ? ok / seconds : null,
            latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
            capped,
        };
        if (firstError) result.firstError = firstError;
        process.stdout.write(JSON.stringify(result) + '\n');
        // The pool's sockets may linger for QUIT; the numbers are out.
        setTimeout(() => process.exit(errors ? 1 : 0), 50).unref();
    }

    function sendOne() {
        if (started >= total) return;
        if (elapsed() > maxSeconds) {
            capped = true;
            return;
        }
        started++;
        const t = process.hrtime.bigint();
        transporter.sendMail(
            {
                from: 'from@example.com',
                to: 'to@example.com',
                subject: 'bench',
                text: body,
            },
            err => {
                latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
                done++;
                if (err) {
                    errors++;
                    if (!firstError) firstError = String(err && err.message || err);
                }
                sendOne();
                if (done === started) finish();
            }
        );
    }
    for (let i = 0; i < conns; i++) sendOne();
}

function one() {
    const options = { host, port, secure: false, name: 'bench.example.com' };
    if (args.starttls) {
        options.requireTLS = true;
        options.tls = { ca: [fs.readFileSync(args.ca)], servername: args.servername || 'localhost', minVersion: 'TLSv1.2' };
        options.auth = { user: args.user, pass: process.env[args['password-env']] };
    } else {
        options.ignoreTLS = true;
    }
    const transporter = nodemailer.createTransport(options);
    const message = { from: 'a@example.com', to: 'b@example.com', subject: args.attach ? 'big' : 'cold', text: 'x' };
    if (args.attach) message.attachments = [{ path: args.attach }];
    const t0 = process.hrtime.bigint();
    transporter.sendMail(message, err => {
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        transporter.close();
        const result = { ok: !err, elapsedSeconds: seconds };
        if (err) result.error = String(err.message || err);
        process.stdout.write(JSON.stringify(result) + '\n');
        process.exit(err ? 1 : 0);
    });
}

if (mode === 'pool') pool();
else if (mode === 'one') one();
else {
    process.stderr.write('usage: nodemailer_send.js idle | pool ... | one ...\n');
    process.exit(2);
}
