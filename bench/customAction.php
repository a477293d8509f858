<?php
// Target d of bench/run: wfhookd's /customAction checks for a no-op action, in PHP under
// php-fpm. Same answers: 405 for a method other than GET, 403 for a missing or wrong apiKey
// (constant-time comparison) or a missing or unlisted username, 400 for a missing, empty or
// over-long name/documentId, 404 for an unknown action, else {"status":"success"}.
// (PHP keeps the last of repeated parameters where wfhookd refuses them: close enough.)
header('Content-Type: application/json; charset=utf-8');
header('Cache-Control: no-store');
header('X-Content-Type-Options: nosniff');

// With Content-Length, like wfhookd (without it nginx would send the answer chunked).
function answer(int $code, string $body): never
{
    http_response_code($code);
    header('Content-Length: ' . strlen($body));
    echo $body;
    exit;
}

function fail(int $code, string $message): never
{
    answer($code, json_encode(['status' => 'error', 'error' => $message], JSON_UNESCAPED_SLASHES));
}

if (($_SERVER['REQUEST_METHOD'] ?? '') !== 'GET') {
    header('Allow: GET');
    fail(405, 'method is not allowed here; use GET');
}
$key = $_SERVER['HTTP_APIKEY'] ?? '';
if ($key === '') fail(403, 'missing apiKey header');
if (!hash_equals((string) getenv('WFHOOKD_BENCH_API_KEY'), $key)) fail(403, 'invalid apiKey');
$user = $_SERVER['HTTP_USERNAME'] ?? '';
if ($user === '') fail(403, 'missing username header');
$users = preg_split('/\s+/', (string) getenv('WFHOOKD_BENCH_USERS'), -1, PREG_SPLIT_NO_EMPTY);
if ($users && !in_array($user, $users, true)) fail(403, 'username is not allowed to use this service');
if (strlen($user) > 255 || preg_match('//u', $user) !== 1) fail(400, 'username header must be at most 255 bytes of UTF-8');

foreach (['name', 'documentId', 'documentVersionId'] as $p) {
    $v = $_GET[$p] ?? null;
    if ($v === null) {
        if ($p !== 'documentVersionId') fail(400, "missing parameter $p");
        continue;
    }
    if (!is_string($v)) fail(400, "parameter $p is given more than once");
    if ($v === '' && $p !== 'documentVersionId') fail(400, "parameter $p is empty");
    if (strlen($v) > 255) fail(400, "parameter $p is " . strlen($v) . ' bytes; the limit is 255');
    if (preg_match('//u', $v) !== 1) fail(400, "parameter $p is not valid UTF-8");
}
if ($_GET['name'] !== 'noop') fail(404, 'unknown action "' . $_GET['name'] . '"');
answer(200, '{"status":"success"}');
