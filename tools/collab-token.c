/*
 * collab-token - prints one HS256 token for a tenant of a tenants.json
 * (PROTOCOL.md sections 7 and 10):
 *
 *   collab-token --tenants FILE --tenant ID --sub USER [--name NAME]
 *                [--moderator] [--ttl SECONDS] [--url-id URLID]...
 *
 * The claims are written in this order: sub, name (when given), tenantId,
 * exp (now + ttl, default 3600 s), moderator (true, when given), urlIds
 * (when any --url-id is given, in order). The header is
 * {"alg":"HS256","typ":"JWT"}; the key is the tenant's secret, bytes as
 * written in the file. The token and a newline go to stdout; nothing else
 * does, and the secret is never printed.
 *
 * Exit status: 0 printed; 2 bad usage or input (unknown flag, missing or
 * repeated flag, bad number, unknown tenant, unreadable or invalid tenants
 * file, claim too long, token too large) with one line on stderr; 1 when
 * stdout cannot be written.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/json.h"
#include "collab/jwt.h"
#include "collab/loop.h"
#include "collab/utf8.h"
#include "tenant.h"

#define DEFAULT_TTL 3600u
/* Ten years: longer lifetimes are surely a typo. */
#define MAX_TTL ((uint64_t)10 * 366 * 24 * 3600)
/* PROTOCOL.md 7: sub 1-128 bytes, name at most 128; PROTOCOL.md 1: a urlId
 * is 1-512 bytes. */
#define MAX_SUB 128u
#define MAX_NAME 128u
#define MAX_URL_ID 512u
/* Room for the payload's fixed parts (member names, exp, punctuation). */
#define PAYLOAD_SLACK 256u
/* A JSON string escape is at most 6 bytes per input byte (\u00XX). */
#define JSON_ESC_MAX 6u

static const char usage[] =
	"usage: collab-token --tenants FILE --tenant ID --sub USER [--name NAME]\n"
	"                    [--moderator] [--ttl SECONDS] [--url-id URLID]...\n"
	"\n"
	"Prints one HS256 token (PROTOCOL.md 7) signed with the tenant's secret\n"
	"from FILE (a collab-server tenants.json), followed by a newline.\n"
	"\n"
	"  --tenants FILE   the tenants file (required)\n"
	"  --tenant ID      the tenant: its id in FILE, and the tenantId claim (required)\n"
	"  --sub USER       the user id, sub claim, 1-128 bytes (required)\n"
	"  --name NAME      the display name, name claim, at most 128 bytes\n"
	"  --moderator      adds \"moderator\":true\n"
	"  --ttl SECONDS    lifetime: exp = now + SECONDS (default 3600)\n"
	"  --url-id URLID   limits the token to this page (urlIds claim); repeat\n"
	"                   for several pages\n"
	"  --help           this text\n"
	"\n"
	"Exit status: 0 printed, 2 bad usage or input, 1 output failed.\n";

struct opts {
	const char *tenants, *tenant, *sub, *name;
	bool moderator;
	uint64_t ttl;
	bool has_ttl;
	const char **url_ids;
	size_t n_url_ids;
};

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	(void)fputs("collab-token: ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
	return 2;
}

/* A decimal integer 1..MAX_TTL, digits only. */
static bool parse_ttl(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 12)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v == 0 || v > MAX_TTL)
		return false;
	*out = v;
	return true;
}

/* Takes the value of flag at argv[*i] ("--flag VALUE" or "--flag=VALUE"). */
static const char *value_of(int argc, char **argv, int *i, const char *flag,
			    bool *matched)
{
	size_t n = strlen(flag);
	const char *a = argv[*i];

	*matched = false;
	if (strncmp(a, flag, n) != 0)
		return NULL;
	if (a[n] == '=') {
		*matched = true;
		return a + n + 1;
	}
	if (a[n] != '\0')
		return NULL;
	*matched = true;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const char *const flags[] = { "--tenants", "--tenant", "--sub",
					     "--name", "--ttl", "--url-id" };
	int i;
	size_t f;

	memset(o, 0, sizeof(*o));
	o->ttl = DEFAULT_TTL;
	o->url_ids = calloc((size_t)argc, sizeof(*o->url_ids));
	if (o->url_ids == NULL)
		return fail("out of memory");
	for (i = 1; i < argc; i++) {
		const char *v = NULL;
		bool m = false;

		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			(void)fputs(usage, stdout);
			return -1;
		}
		if (strcmp(argv[i], "--moderator") == 0) {
			if (o->moderator)
				return fail("--moderator given twice");
			o->moderator = true;
			continue;
		}
		for (f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
			v = value_of(argc, argv, &i, flags[f], &m);
			if (m)
				break;
		}
		if (!m)
			return fail("unknown argument \"%s\" (see --help)", argv[i]);
		if (v == NULL)
			return fail("%s needs a value", flags[f]);
		switch (f) {
		case 0: case 1: case 2: case 3: {
			const char **slot = f == 0 ? &o->tenants : f == 1 ? &o->tenant :
					    f == 2 ? &o->sub : &o->name;

			if (*slot)
				return fail("%s given twice", flags[f]);
			*slot = v;
			break;
		}
		case 4:
			if (o->has_ttl)
				return fail("--ttl given twice");
			if (!parse_ttl(v, &o->ttl))
				return fail("--ttl must be a whole number of seconds, 1 to %llu, not \"%s\"",
					    (unsigned long long)MAX_TTL, v);
			o->has_ttl = true;
			break;
		default:
			o->url_ids[o->n_url_ids++] = v;
			break;
		}
	}
	if (o->tenants == NULL || o->tenant == NULL || o->sub == NULL)
		return fail("--tenants, --tenant and --sub are required (see --help)");
	return 0;
}

static int check_claims(const struct opts *o)
{
	size_t i, n;

	n = strlen(o->sub);
	if (n == 0 || n > MAX_SUB)
		return fail("--sub must be 1 to %u bytes", MAX_SUB);
	if (o->name && strlen(o->name) > MAX_NAME)
		return fail("--name must be at most %u bytes", MAX_NAME);
	for (i = 0; i < o->n_url_ids; i++) {
		n = strlen(o->url_ids[i]);
		if (n == 0 || n > MAX_URL_ID)
			return fail("--url-id must be 1 to %u bytes", MAX_URL_ID);
	}
	if (collab_utf8_check((const uint8_t *)o->sub, strlen(o->sub)) != 0 ||
	    (o->name && collab_utf8_check((const uint8_t *)o->name, strlen(o->name)) != 0))
		return fail("--sub and --name must be UTF-8");
	for (i = 0; i < o->n_url_ids; i++)
		if (collab_utf8_check((const uint8_t *)o->url_ids[i], strlen(o->url_ids[i])) != 0)
			return fail("--url-id must be UTF-8");
	return 0;
}

/* The claims as one compact JSON object. */
static int write_payload(const struct opts *o, const struct srv_tenant *t,
			 uint8_t *buf, size_t cap, size_t *len)
{
	struct collab_json_writer w;
	uint64_t exp = collab_loop_wall_ms() / 1000 + o->ttl;
	size_t i;

	collab_json_writer_init(&w, buf, cap);
	collab_json_write_obj_begin(&w);
	collab_json_write_key(&w, COLLAB_JSON_LIT("sub"));
	collab_json_write_str(&w, o->sub, strlen(o->sub));
	if (o->name) {
		collab_json_write_key(&w, COLLAB_JSON_LIT("name"));
		collab_json_write_str(&w, o->name, strlen(o->name));
	}
	collab_json_write_key(&w, COLLAB_JSON_LIT("tenantId"));
	collab_json_write_str(&w, t->id, t->id_len);
	collab_json_write_key(&w, COLLAB_JSON_LIT("exp"));
	collab_json_write_u64(&w, exp);
	if (o->moderator) {
		collab_json_write_key(&w, COLLAB_JSON_LIT("moderator"));
		collab_json_write_bool(&w, true);
	}
	if (o->n_url_ids) {
		collab_json_write_key(&w, COLLAB_JSON_LIT("urlIds"));
		collab_json_write_arr_begin(&w);
		for (i = 0; i < o->n_url_ids; i++)
			collab_json_write_str(&w, o->url_ids[i], strlen(o->url_ids[i]));
		collab_json_write_arr_end(&w);
	}
	collab_json_write_obj_end(&w);
	return collab_json_writer_finish(&w, len);
}

int main(int argc, char **argv)
{
	struct srv_tenant_registry reg;
	const struct srv_tenant *t;
	struct opts o;
	char msg[SRV_TENANT_MSG_CAP + 4096];
	struct collab_json_node *nodes = NULL;
	uint8_t *payload = NULL;
	char *tok = NULL;
	size_t cap, plen = 0, tlen = 0, nn, i;
	int rc, status = 2;

	rc = parse_args(argc, argv, &o);
	if (rc != 0 || o.tenants == NULL || o.tenant == NULL || o.sub == NULL) {
		free(o.url_ids);
		return rc < 0 ? 0 : 2;
	}
	if (check_claims(&o) != 0) {
		free(o.url_ids);
		return 2;
	}
	memset(&reg, 0, sizeof(reg));
	rc = srv_tenant_registry_load(&reg, NULL, o.tenants, msg, sizeof(msg));
	if (rc != 0) {
		fail("%s", msg);
		free(o.url_ids);
		return 2;
	}
	t = srv_tenant_find(&reg, o.tenant, strlen(o.tenant));
	if (t == NULL) {
		fail("unknown tenant \"%s\" in %s", o.tenant, o.tenants);
		goto out;
	}
	cap = PAYLOAD_SLACK + JSON_ESC_MAX * (strlen(o.sub) + t->id_len +
					      (o.name ? strlen(o.name) : 0));
	for (i = 0; i < o.n_url_ids; i++)
		cap += 4 + JSON_ESC_MAX * strlen(o.url_ids[i]);
	payload = malloc(cap);
	nn = COLLAB_JSON_NODES_FOR(cap);
	nodes = calloc(nn, sizeof(*nodes));
	if (payload == NULL || nodes == NULL) {
		fail("out of memory");
		goto out;
	}
	rc = write_payload(&o, t, payload, cap, &plen);
	if (rc == 0) {
		tlen = collab_jwt_signed_len(plen);
		tok = malloc(tlen + 1);
		rc = tok ? collab_jwt_sign(NULL, t->secret, t->secret_len, payload, plen,
					   nodes, nn, tok, tlen, &tlen)
			 : COLLAB_ENOMEM;
	}
	if (rc == COLLAB_ELIMIT) {
		fail("the token would be larger than %zu bytes", (size_t)COLLAB_JWT_DEFAULT_MAX_TOKEN);
		goto out;
	}
	if (rc != 0) {
		fail("cannot sign: %s", collab_strerror(rc));
		goto out;
	}
	tok[tlen] = '\n';
	if (fwrite(tok, 1, tlen + 1, stdout) != tlen + 1 || fflush(stdout) != 0) {
		(void)fputs("collab-token: cannot write the token to stdout\n", stderr);
		status = 1;
		goto out;
	}
	status = 0;
out:
	srv_tenant_registry_free(&reg);
	free(payload);
	free(nodes);
	free(tok);
	free(o.url_ids);
	return status;
}
