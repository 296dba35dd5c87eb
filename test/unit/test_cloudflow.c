/*
 * test_cloudflow.c
 *		Unit tests of the GCP and Azure readers (src/cloudflow.c): detection,
 *		value conversion edge cases, and what goes to the bad-item callback.
 *		Expected values are worked out by hand from the formats' facts.
 *
 * unit.sh sources: src/cloudflow.c src/cloudflow_gcp.c src/cloudflow_azure.c src/jsonscan.c src/flowparse.c
 */
#include "cloudflow.h"
#include "unit.h"

/* What one cloud_parse call handed back: the last row, and counts. */
static FlowRow last;
static int	nrows,
			nbad;
static char last_bad[200];
static const char *last_field;
static size_t last_line;
static size_t last_bad_line;

static void
on_row(void *arg, FlowRow *row, const char *raw, size_t rawlen, size_t line)
{
	(void) arg, (void) raw, (void) rawlen;
	last = *row;
	last_line = line;
	nrows++;
}

static void
on_bad(void *arg, const char *raw, size_t rawlen, size_t line, const char *field, const char *msg)
{
	(void) arg, (void) raw, (void) rawlen;
	snprintf(last_bad, sizeof(last_bad), "%s", msg);
	last_field = field;
	last_bad_line = line;
	nbad++;
}

static CloudReader reader;

static int
run(int provider, const char *doc)
{
	nrows = nbad = 0;
	last_bad[0] = '\0';
	last_field = NULL;
	return cloud_parse(&reader, provider, doc, strlen(doc), 0, on_row, on_bad, NULL);
}

/* A GCP bare payload with the given connection members and extra members. */
static int
gcp(const char *conn, const char *more)
{
	static char doc[1024];

	snprintf(doc, sizeof(doc),
			 "{\"connection\":{\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"10.0.0.2\"%s},"
			 "\"reporter\":\"SRC\",\"start_time\":\"2024-03-01T10:00:00Z\"%s}", conn, more);
	return run(FLOW_PROVIDER_GCP, doc);
}

static void
test_detect(void)
{
	CHECK_INT(cloud_detect("2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK", 63), 0);
	CHECK_INT(cloud_detect("{\"logEvents\":[{\"message\":\"x\"}]}", 32), 0);
	CHECK_INT(cloud_detect(" {\"insertId\":\"a\",\"logName\":\"projects/p/logs/compute.googleapis.com%2Fvpc_flows\"}", 79),
			  FLOW_PROVIDER_GCP);
	CHECK_INT(cloud_detect("[{\"connection\":{},\"reporter\":\"SRC\"}]", 36), FLOW_PROVIDER_GCP);
	CHECK_INT(cloud_detect("{\"records\":[{\"properties\":{\"flows\":[{\"flows\":[{\"flowTuples\":[]}]}]}}]}", 70),
			  FLOW_PROVIDER_AZURE_NSG);
	CHECK_INT(cloud_detect("{\"records\":[{\"flowLogVersion\":4}]}", 34), FLOW_PROVIDER_AZURE_VNET);
	CHECK_INT(cloud_detect("1542110379,10.0.0.1,10.0.0.2,1,2,T,O,A\n", 39), FLOW_PROVIDER_AZURE_NSG);
	CHECK_INT(cloud_detect("1663146003599,10.0.0.1,10.0.0.2,1,2,6,O,B,NX,0,0,0,0", 52), FLOW_PROVIDER_AZURE_VNET);
	CHECK_INT(cloud_detect("1663146003599,10.0.0.1,10.0.0.2,1,2,6,O,B", 41), 0);
	CHECK_INT(cloud_format_code("azure-nsg", 9), FLOW_PROVIDER_AZURE_NSG);
	CHECK_INT(cloud_format_code("aws", 3), FLOW_PROVIDER_AWS);
	CHECK_INT(cloud_format_code("v5", 2), 0);
}

static void
test_gcp_values(void)
{
	/* times: offsets, fractions cut to microseconds, calendar checks */
	CHECK_INT(gcp("", ""), 0);
	CHECK_INT(nrows, 1);
	CHECK_INT(last.v[FF_START].i, 1709287200LL * 1000000);
	CHECK(!flow_row_has(&last, FF_SRCPORT));
	run(FLOW_PROVIDER_GCP, "{\"connection\":{\"src_ip\":\"::1\",\"dest_ip\":\"::2\"},\"reporter\":\"DEST\","
		"\"start_time\":\"2024-02-29T23:59:59.9999999-00:30\"}");
	CHECK_INT(nrows, 1);
	CHECK_INT(last.v[FF_START].i, (1709251199LL + 1800) * 1000000 + 999999);
	CHECK_INT(last.v[FF_FLOW_DIRECTION].i, FLOW_DIR_INGRESS);
	run(FLOW_PROVIDER_GCP, "{\"connection\":{\"src_ip\":\"::1\",\"dest_ip\":\"::2\"},\"reporter\":\"SRC\","
		"\"start_time\":\"2023-02-29T00:00:00Z\"}");
	CHECK_INT(nbad, 1);
	CHECK_STR(last_field, "start_time");

	/* ports: integers, integral floats, digit strings; nothing else */
	CHECK_INT(gcp(",\"src_port\":3389.0,\"dest_port\":\"443\",\"protocol\":6e0", ""), 0);
	CHECK_INT(nrows, 1);
	CHECK_INT(last.v[FF_SRCPORT].i, 3389);
	CHECK_INT(last.v[FF_DSTPORT].i, 443);
	CHECK_INT(last.v[FF_PROTOCOL].i, 6);
	gcp(",\"src_port\":3389.5", "");
	CHECK_INT(nbad, 1);
	CHECK_STR(last_field, "connection.src_port");
	gcp(",\"src_port\":-1", "");
	CHECK_INT(nbad, 1);
	gcp(",\"dest_port\":65536", "");
	CHECK_INT(nbad, 1);
	gcp(",\"protocol\":\"6.0\"", "");
	CHECK_INT(nbad, 1);
	gcp("", ",\"bytes_sent\":\"9223372036854775808\"");
	CHECK_INT(nbad, 1);
	CHECK_STR(last_field, "bytes_sent");
	gcp("", ",\"bytes_sent\":\"9223372036854775807\",\"packets_sent\":null");
	CHECK_INT(nrows, 1);
	CHECK(!flow_row_has(&last, FF_PACKETS));
	CHECK(last.v[FF_BYTES].i == INT64_C(9223372036854775807));

	/* extra: unmapped members verbatim, empty ones dropped, \u0000 refused */
	gcp("", ",\"src_location\":{},\"dest_location\":{\"country\":\"deu\"},\"x\":[],\"y\":\"\",\"z\":{\"a\":1}");
	CHECK_INT(nrows, 1);
	CHECK_MEM(last.extra_json.ptr, last.extra_json.len, "{\"z\":{\"a\":1}}");
	/* the peer's location fills the peer_ columns; the reporter's own is kept in extra */
	CHECK_MEM(last.v[FF_PEER_COUNTRY].str.ptr, last.v[FF_PEER_COUNTRY].str.len, "deu");
	gcp("", ",\"dest_location\":{\"asn\":15169,\"city\":\"Zurich\",\"continent\":\"Europe\","
		"\"country\":\"che\",\"region\":\"Zurich\"},\"src_location\":{\"country\":\"usa\"}");
	CHECK_INT(nrows, 1);
	CHECK(last.v[FF_PEER_ASN].i == 15169);
	CHECK_MEM(last.v[FF_PEER_CITY].str.ptr, last.v[FF_PEER_CITY].str.len, "Zurich");
	CHECK_MEM(last.v[FF_PEER_CONTINENT].str.ptr, last.v[FF_PEER_CONTINENT].str.len, "Europe");
	CHECK_MEM(last.v[FF_PEER_COUNTRY].str.ptr, last.v[FF_PEER_COUNTRY].str.len, "che");
	CHECK_MEM(last.v[FF_PEER_GEO_REGION].str.ptr, last.v[FF_PEER_GEO_REGION].str.len, "Zurich");
	CHECK_MEM(last.extra_json.ptr, last.extra_json.len, "{\"src_location\":{\"country\":\"usa\"}}");
	/* a peer member of another type, or an unknown one: the object is kept whole too */
	gcp("", ",\"dest_location\":{\"asn\":\"AS15169\",\"country\":\"che\"}");
	CHECK_INT(nrows, 1);
	CHECK(!flow_row_has(&last, FF_PEER_ASN));
	CHECK_MEM(last.v[FF_PEER_COUNTRY].str.ptr, last.v[FF_PEER_COUNTRY].str.len, "che");
	CHECK_MEM(last.extra_json.ptr, last.extra_json.len,
			  "{\"dest_location\":{\"asn\":\"AS15169\",\"country\":\"che\"}}");
	gcp("", ",\"dest_location\":{\"asn\":\"64512\",\"postal\":\"8000\"}");
	CHECK_INT(nrows, 1);
	CHECK(last.v[FF_PEER_ASN].i == 64512);
	CHECK_MEM(last.extra_json.ptr, last.extra_json.len, "{\"dest_location\":{\"asn\":\"64512\",\"postal\":\"8000\"}}");
	/* the reporter's objects must be well typed */
	gcp("", ",\"src_instance\":{\"vm_name\":7}");
	CHECK_INT(nbad, 1);
	CHECK_STR(last_field, "src_instance");
	gcp("", ",\"network_service\":{\"dscp\":64}");
	CHECK_INT(nbad, 1);
	CHECK_STR(last_field, "network_service.dscp");
	gcp("", ",\"note\":\"a\\u0000b\"");
	CHECK_INT(nbad, 1);
	gcp("", ",\"note\":\"a\\\\u0000b\"");
	CHECK_INT(nrows, 1);

	/* the reporter's instance fills columns; one with more keys goes to extra too */
	gcp("", ",\"src_instance\":{\"vm_name\":\"a\",\"zone\":\"z1\",\"managed_instance_group\":{\"name\":\"m\"}},"
		"\"dest_instance\":{\"vm_name\":\"b\"}");
	CHECK_INT(nrows, 1);
	CHECK_MEM(last.v[FF_INSTANCE_ID].str.ptr, last.v[FF_INSTANCE_ID].str.len, "a");
	CHECK_MEM(last.v[FF_AZ_ID].str.ptr, last.v[FF_AZ_ID].str.len, "z1");
	CHECK_MEM(last.extra_json.ptr, last.extra_json.len,
			  "{\"src_instance\":{\"vm_name\":\"a\",\"zone\":\"z1\",\"managed_instance_group\":{\"name\":\"m\"}}}");
	/* ... and the peer's instance and VPC fill the peer_ columns */
	CHECK_MEM(last.v[FF_PEER_INSTANCE_ID].str.ptr, last.v[FF_PEER_INSTANCE_ID].str.len, "b");
	CHECK(!flow_row_has(&last, FF_PEER_VPC_ID));
	gcp("", ",\"dest_instance\":{\"project_id\":\"p2\",\"vm_name\":\"b\",\"region\":\"r2\",\"zone\":\"z2\"},"
		"\"dest_vpc\":{\"project_id\":\"p2\",\"vpc_name\":\"n2\",\"subnetwork_name\":\"s2\","
		"\"subnetwork_region\":\"r2\"}");
	CHECK_INT(nrows, 1);
	CHECK(last.extra_json.ptr == NULL);
	CHECK_MEM(last.v[FF_PEER_ACCOUNT_ID].str.ptr, last.v[FF_PEER_ACCOUNT_ID].str.len, "p2");
	CHECK_MEM(last.v[FF_PEER_INSTANCE_ID].str.ptr, last.v[FF_PEER_INSTANCE_ID].str.len, "b");
	CHECK_MEM(last.v[FF_PEER_REGION].str.ptr, last.v[FF_PEER_REGION].str.len, "r2");
	CHECK_MEM(last.v[FF_PEER_AZ_ID].str.ptr, last.v[FF_PEER_AZ_ID].str.len, "z2");
	CHECK_MEM(last.v[FF_PEER_VPC_ID].str.ptr, last.v[FF_PEER_VPC_ID].str.len, "n2");
	CHECK_MEM(last.v[FF_PEER_SUBNET_ID].str.ptr, last.v[FF_PEER_SUBNET_ID].str.len, "s2");
	CHECK(!flow_row_has(&last, FF_INSTANCE_ID));
	/* a VPC in another project (shared VPC): no value lost, the VPC goes to extra */
	gcp("", ",\"dest_instance\":{\"project_id\":\"svc\",\"vm_name\":\"b\"},"
		"\"dest_vpc\":{\"project_id\":\"host\",\"vpc_name\":\"n2\"}");
	CHECK_INT(nrows, 1);
	CHECK_MEM(last.v[FF_PEER_ACCOUNT_ID].str.ptr, last.v[FF_PEER_ACCOUNT_ID].str.len, "svc");
	CHECK_MEM(last.v[FF_PEER_VPC_ID].str.ptr, last.v[FF_PEER_VPC_ID].str.len, "n2");
	CHECK_MEM(last.extra_json.ptr, last.extra_json.len,
			  "{\"dest_vpc\":{\"project_id\":\"host\",\"vpc_name\":\"n2\"}}");
	gcp("", ",\"src_instance\":{\"project_id\":\"svc\"},\"src_vpc\":{\"project_id\":\"host\"}");
	CHECK_INT(nrows, 1);
	CHECK_MEM(last.v[FF_ACCOUNT_ID].str.ptr, last.v[FF_ACCOUNT_ID].str.len, "svc");
	CHECK_MEM(last.extra_json.ptr, last.extra_json.len, "{\"src_vpc\":{\"project_id\":\"host\"}}");
	/* a peer value that is not an object is kept as it is; a local one is an error */
	gcp("", ",\"dest_vpc\":\"n2\"");
	CHECK_INT(nrows, 1);
	CHECK_MEM(last.extra_json.ptr, last.extra_json.len, "{\"dest_vpc\":\"n2\"}");
	gcp("", ",\"src_vpc\":\"n2\"");
	CHECK_INT(nbad, 1);
	CHECK_STR(last_field, "src_vpc");

	/* missing pieces */
	run(FLOW_PROVIDER_GCP, "{\"reporter\":\"SRC\",\"start_time\":\"2024-03-01T10:00:00Z\"}");
	CHECK_INT(nbad, 1);
	CHECK_STR(last_field, "connection");
	gcp("", ",\"logName\":\"projects/p/logs/syslog\"");
	CHECK_INT(nbad, 1);
	CHECK_STR(last_field, "logName");
	run(FLOW_PROVIDER_GCP, "{\"connection\":{\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"10.0.0.2\"},\"reporter\":\"SRC\"}");
	CHECK_INT(nbad, 1);
	CHECK_STR(last_field, "start_time");
}

/*
 * Values read in place when they are plain strings or plain digits, and
 * decoded otherwise: both ways must give the same row or the same error.
 */
static void
test_gcp_in_place(void)
{
	static char big[20000];
	char	   *p;

	/* escaped and UTF-8 text is decoded; plain text is the document's bytes */
	gcp("", ",\"src_instance\":{\"vm_name\":\"\\u0061b\",\"zone\":\"caf\xc3\xa9\","
		"\"region\":\"0123456789abcdefghijklmnopqrstuvwxyz0123456789\"}");
	CHECK_INT(nrows, 1);
	CHECK_MEM(last.v[FF_INSTANCE_ID].str.ptr, last.v[FF_INSTANCE_ID].str.len, "ab");
	CHECK_MEM(last.v[FF_AZ_ID].str.ptr, last.v[FF_AZ_ID].str.len, "caf\xc3\xa9");
	CHECK_MEM(last.v[FF_REGION].str.ptr, last.v[FF_REGION].str.len,
			  "0123456789abcdefghijklmnopqrstuvwxyz0123456789");
	/* the same value twice (project of instance and VPC), escaped or not: one column */
	gcp("", ",\"src_instance\":{\"project_id\":\"p\\u0031\"},\"src_vpc\":{\"project_id\":\"p1\"}");
	CHECK_INT(nrows, 1);
	CHECK_MEM(last.v[FF_ACCOUNT_ID].str.ptr, last.v[FF_ACCOUNT_ID].str.len, "p1");
	CHECK(last.extra_json.ptr == NULL);
	/* text longer than a row's 16 kB of strings: an error, decoded or not */
	p = big;
	p += sprintf(p, "{\"connection\":{\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"10.0.0.2\"},"
				 "\"reporter\":\"SRC\",\"start_time\":\"2024-03-01T10:00:00Z\","
				 "\"src_instance\":{\"vm_name\":\"");
	memset(p, 'v', 17000);
	p += 17000;
	sprintf(p, "\"}}");
	CHECK_INT(run(FLOW_PROVIDER_GCP, big), 0);
	CHECK_INT(nbad, 1);
	CHECK_STR(last_field, "src_instance");
	/* ... and a peer's instance holding one is kept in extra as it is */
	p = big;
	p += sprintf(p, "{\"connection\":{\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"10.0.0.2\"},"
				 "\"reporter\":\"DEST\",\"start_time\":\"2024-03-01T10:00:00Z\","
				 "\"src_instance\":{\"zone\":\"z\",\"vm_name\":\"");
	memset(p, 'v', 17000);
	p += 17000;
	sprintf(p, "\"}}");
	CHECK_INT(run(FLOW_PROVIDER_GCP, big), 0);
	CHECK_INT(nrows, 1);
	CHECK_MEM(last.v[FF_PEER_AZ_ID].str.ptr, last.v[FF_PEER_AZ_ID].str.len, "z");
	CHECK(!flow_row_has(&last, FF_PEER_INSTANCE_ID));
	CHECK_INT(last.extra_json.len, strlen("{\"src_instance\":{\"zone\":\"z\",\"vm_name\":\"\"}}") + 17000);

	/* the reporter, compared in place or decoded */
	CHECK_INT(run(FLOW_PROVIDER_GCP, "{\"connection\":{\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"10.0.0.2\"},"
				  "\"reporter\":\"\\u0044EST\",\"start_time\":\"2024-03-01T10:00:00Z\"}"), 0);
	CHECK_INT(nrows, 1);
	CHECK_INT(last.v[FF_FLOW_DIRECTION].i, FLOW_DIR_INGRESS);
	run(FLOW_PROVIDER_GCP, "{\"connection\":{\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"10.0.0.2\"},"
		"\"reporter\":\"SRCX\",\"start_time\":\"2024-03-01T10:00:00Z\"}");
	CHECK_INT(nbad, 1);
	CHECK_STR(last_field, "reporter");
	run(FLOW_PROVIDER_GCP, "{\"connection\":{\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"10.0.0.2\"},"
		"\"reporter\":1,\"start_time\":\"2024-03-01T10:00:00Z\"}");
	CHECK_INT(nbad, 1);
	CHECK_STR(last_field, "reporter");

	/* integers: digit strings (leading zeros too), numbers, the limits around 18 digits */
	gcp(",\"src_port\":\"0443\",\"dest_port\": 80 ,\"protocol\":1e1", ",\"bytes_sent\":\"123456789012345678\","
		"\"packets_sent\":1234567890123456789,\"rtt_msec\":\"0\"");
	CHECK_INT(nrows, 1);
	CHECK_INT(last.v[FF_SRCPORT].i, 443);
	CHECK_INT(last.v[FF_DSTPORT].i, 80);
	CHECK_INT(last.v[FF_PROTOCOL].i, 10);
	CHECK(last.v[FF_BYTES].i == INT64_C(123456789012345678));
	CHECK(last.v[FF_PACKETS].i == INT64_C(1234567890123456789));
	CHECK_INT(last.v[FF_RTT_MSEC].i, 0);
	gcp(",\"protocol\":255", "");
	CHECK_INT(nrows, 1);
	CHECK_INT(last.v[FF_PROTOCOL].i, 255);
	gcp(",\"protocol\":256", "");
	CHECK_INT(nbad, 1);
	CHECK_STR(last_field, "connection.protocol");
	gcp(",\"protocol\":-0", "");
	CHECK_INT(nbad, 1);
	gcp(",\"src_port\":\"\\u0034\"", "");
	CHECK_INT(nrows, 1);
	CHECK_INT(last.v[FF_SRCPORT].i, 4);
	gcp(",\"src_port\":\"\"", "");
	CHECK_INT(nbad, 1);
	gcp(",\"src_port\":\" 1\"", "");
	CHECK_INT(nbad, 1);
	gcp("", ",\"bytes_sent\":\"99999999999999999999\"");
	CHECK_INT(nbad, 1);
	CHECK_STR(last_field, "bytes_sent");
	gcp("", ",\"bytes_sent\":99999999999999999999");
	CHECK_INT(nbad, 1);
	gcp("", ",\"bytes_sent\":9223372036854775807");
	CHECK_INT(nrows, 1);
	CHECK(last.v[FF_BYTES].i == INT64_C(9223372036854775807));

	/* times and addresses with escapes read as their decoded text */
	gcp("", ",\"end_time\":\"2024-03-01T10:00:01\\u005A\"");
	CHECK_INT(nrows, 1);
	CHECK_INT(last.v[FF_END].i, 1709287201LL * 1000000);
	gcp("", ",\"end_time\":\"2024-03-01T10:00:01Z \"");
	CHECK_INT(nbad, 1);
	CHECK_STR(last_field, "end_time");
	run(FLOW_PROVIDER_GCP, "{\"connection\":{\"src_ip\":\"\\u0031\\u0030.0.0.9\",\"dest_ip\":\"::ffff:10.0.0.2\"},"
		"\"reporter\":\"SRC\",\"start_time\":\"2024-03-01T10:00:00Z\"}");
	CHECK_INT(nrows, 1);
	CHECK_INT(last.v[FF_SRCADDR].addr.family, 4);
	CHECK_INT(last.v[FF_SRCADDR].addr.bytes[0], 10);
	CHECK_INT(last.v[FF_SRCADDR].addr.bytes[3], 9);
	CHECK_INT(last.v[FF_DSTADDR].addr.family, 6);
	run(FLOW_PROVIDER_GCP, "{\"connection\":{\"src_ip\":\"10.0.0.256\",\"dest_ip\":\"10.0.0.2\"},"
		"\"reporter\":\"SRC\",\"start_time\":\"2024-03-01T10:00:00Z\"}");
	CHECK_INT(nbad, 1);
	CHECK_STR(last_field, "connection.src_ip");
}

static void
test_azure(void)
{
	/* bare tuples: layout by field 6, seconds or milliseconds by magnitude */
	CHECK_INT(run(FLOW_PROVIDER_AZURE_NSG, "1542110379,10.0.0.1,10.0.0.2,1,2,U,I,D\n\n"), 0);
	CHECK_INT(nrows, 1);
	CHECK_INT(last.v[FF_VERSION].i, 1);
	CHECK_INT(last.v[FF_PROTOCOL].i, 17);
	CHECK_INT(last.v[FF_ACTION].i, FLOW_ACTION_REJECT);
	CHECK(!flow_row_has(&last, FF_FLOW_STATE));
	run(FLOW_PROVIDER_AZURE_VNET, "1663146003599,10.0.0.1,10.0.0.2,,,1,O,D,NX_X,0,0,0,0");
	CHECK_INT(nrows, 1);
	CHECK_INT(last.v[FF_START].i, 1663146003599LL * 1000);
	CHECK(!flow_row_has(&last, FF_SRCPORT));
	CHECK_INT(last.v[FF_ACTION].i, FLOW_ACTION_REJECT);
	CHECK_MEM(last.extra_json.ptr, last.extra_json.len, "{\"encryption\":\"NX_X\"}");
	run(FLOW_PROVIDER_AZURE_VNET, "1493763938,10.0.0.1,10.0.0.2,1,2,6,O,C,X,1,2,3,4");
	CHECK_INT(last.v[FF_START].i, 1493763938LL * 1000000);
	CHECK_INT(last.v[FF_REVERSE_BYTES].i, 4);
	CHECK_INT(last.v[FF_ENCRYPTION_STATUS].i, 1);

	/* bad tuples, each reported with its field; the others still load */
	run(FLOW_PROVIDER_AZURE_NSG, "1,10.0.0.1,10.0.0.2,1,2,T,I,A,X,,,,\n"
		"1,10.0.0.1,10.0.0.2,1,2,T,I,A,B,,,\n"
		"1,10.0.0.1,10.0.0.2,1,2,T,I,A,E,1,-2,3,4\n"
		"1,10.0.0.1,10.0.0.2,1,2,T,I,A,B,,,,\n");
	CHECK_INT(nrows, 1);
	CHECK_INT(nbad, 3);
	CHECK_STR(last_field, "bytes_s2d");
	CHECK_INT(last_bad_line, 3);
	CHECK_INT(last_line, 4);

	/* record context: MAC normalised, subscription lowercased, rule */
	run(FLOW_PROVIDER_AZURE_NSG,
		"{\"records\":[{\"resourceId\":\"/SUBSCRIPTIONS/AB-CD/RESOURCEGROUPS/X\",\"properties\":{\"flows\":"
		"[{\"rule\":\"r1\",\"flows\":[{\"mac\":\"000d3aF87856\",\"flowTuples\":[\"1,10.0.0.1,10.0.0.2,1,2,T,O,A,C,1,2,3,4\"]}]}]}}]}");
	CHECK_INT(nrows, 1);
	CHECK_MEM(last.v[FF_INTERFACE_ID].str.ptr, last.v[FF_INTERFACE_ID].str.len, "00-0D-3A-F8-78-56");
	CHECK_MEM(last.v[FF_ACCOUNT_ID].str.ptr, last.v[FF_ACCOUNT_ID].str.len, "ab-cd");
	CHECK_MEM(last.v[FF_RULE_NAME].str.ptr, last.v[FF_RULE_NAME].str.len, "r1");
	CHECK_INT(last.v[FF_PACKETS].i, 1);
	CHECK_INT(last.v[FF_REVERSE_PACKETS].i, 3);

	/* a nested blob inside records is one bad item; its siblings load */
	run(FLOW_PROVIDER_AZURE_NSG,
		"{\"records\":[{\"records\":[]},{\"properties\":{\"flows\":[{\"flows\":[{\"flowTuples\":"
		"[\"1,10.0.0.1,10.0.0.2,1,2,T,O,A\"]}]}]}}]}");
	CHECK_INT(nrows, 1);
	CHECK_INT(nbad, 1);
	CHECK_STR(last_field, "records");

	/* NDJSON: a broken (here truncated) line is one bad item, the rest loads */
	CHECK_INT(run(FLOW_PROVIDER_GCP,
				  "{\"connection\":{\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"10.0.0.2\"},\"reporter\":\"SRC\",\"start_time\":\"2024-03-01T10:00:00Z\"}\n"
				  "{\"connection\":{\"src_ip\":\"10.0.0.1\",\"dest_ip\":\n"
				  "{\"connection\":{\"src_ip\":\"10.0.0.3\",\"dest_ip\":\"10.0.0.2\"},\"reporter\":\"SRC\",\"start_time\":\"2024-03-01T10:00:00Z\"}\n"
				  "{\"connection\":{\"src_ip\":\"10.0.0.1\""), 0);
	CHECK_INT(nrows, 2);
	CHECK_INT(nbad, 2);
	CHECK_INT(last_bad_line, 4);
	CHECK(strncmp(last_bad, "malformed JSON: ", 16) == 0);
	/* ... but not in an object spread over lines */
	CHECK_INT(run(FLOW_PROVIDER_GCP, "{\"connection\": ]\n  \"reporter\": \"SRC\"\n}\n"), -1);
	CHECK_INT(reader.js.line, 1);

	/* malformed JSON ends the document with an error and its line */
	CHECK_INT(run(FLOW_PROVIDER_AZURE_VNET, "{\"records\":[\n{\"flowRecords\":{\"flows\":[}]}"), -1);
	CHECK_INT(reader.js.line, 2);
	CHECK(reader.error[0] != '\0');
}

int
main(void)
{
	test_detect();
	test_gcp_values();
	test_gcp_in_place();
	test_azure();
	UNIT_DONE();
}
