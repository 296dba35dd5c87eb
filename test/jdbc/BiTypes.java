// BI friendliness over JDBC: runs every dashboard view and set-returning
// function of vpcflow (the list comes from the catalog and from
// test/jdbc/functions.sql) and checks that each result column maps to a
// standard JDBC type, not OTHER, STRUCT, JAVA_OBJECT, DISTINCT or ARRAY,
// and that every value of every row can be read with getObject.
//
//   java -cp /usr/share/java/postgresql.jar:CLASSES BiTypes JDBC_URL CALLS_FILE
//
// Prints one "PASS name" or "FAIL name: reason" line per view or call
// (tools/test.sh counts them) and "NOTE" lines for views of other features.
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.*;
import java.util.*;

public class BiTypes {
    static final Set<Integer> STANDARD = Set.of(
        Types.VARCHAR, Types.CHAR, Types.LONGVARCHAR, Types.NVARCHAR,
        Types.BIGINT, Types.INTEGER, Types.SMALLINT, Types.TINYINT,
        Types.NUMERIC, Types.DECIMAL, Types.DOUBLE, Types.REAL, Types.FLOAT,
        Types.TIMESTAMP, Types.TIMESTAMP_WITH_TIMEZONE, Types.DATE,
        Types.BOOLEAN, Types.BIT);

    static int failures = 0;

    // Run sql and check its columns; returns null when fine, else the reason.
    static String check(Connection c, String sql) {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            ResultSetMetaData md = rs.getMetaData();
            List<String> bad = new ArrayList<>();
            for (int i = 1; i <= md.getColumnCount(); i++) {
                int t = md.getColumnType(i);
                if (!STANDARD.contains(t))
                    bad.add(md.getColumnName(i) + " is " + JDBCType.valueOf(t).getName()
                            + " (" + md.getColumnTypeName(i) + ")");
            }
            int rows = 0;
            while (rs.next()) {
                rows++;
                for (int i = 1; i <= md.getColumnCount(); i++) rs.getObject(i);
            }
            if (!bad.isEmpty()) return String.join(", ", bad);
            return null;
        } catch (SQLException e) {
            return "error: " + e.getMessage().replace('\n', ' ');
        }
    }

    public static void main(String[] args) throws Exception {
        String url = args[0];
        List<String> calls = Files.readAllLines(Path.of(args[1]));
        try (Connection c = DriverManager.getConnection(url)) {
            try (Statement st = c.createStatement()) {
                // look at the test data as if it were live
                st.execute("SET vpcflow_dashboard.now = '2024-05-01 02:10:00+00'");
            }
            List<String[]> views = new ArrayList<>();
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery(
                     "SELECT c.relname, c.relname ~ '^(exec|oncall|debug)_|^slis$|^rollup_' " +
                     "FROM pg_class c WHERE c.relnamespace = 'vpcflow'::regnamespace " +
                     "AND c.relkind = 'v' ORDER BY 1")) {
                while (rs.next()) views.add(new String[] { rs.getString(1), rs.getString(2) });
            }
            for (String[] v : views) {
                String reason = check(c, "SELECT * FROM vpcflow." + v[0]);
                boolean mine = "t".equals(v[1]);
                if (reason == null) {
                    System.out.println((mine ? "PASS" : "NOTE") + " view vpcflow." + v[0]);
                } else if (mine) {
                    failures++;
                    System.out.println("FAIL view vpcflow." + v[0] + ": " + reason);
                } else {
                    System.out.println("NOTE view vpcflow." + v[0] + " (not a dashboard view): " + reason);
                }
            }
            for (String call : calls) {
                call = call.strip();
                if (call.isEmpty() || call.startsWith("--")) continue;
                String reason = check(c, call);
                if (reason == null) {
                    System.out.println("PASS call " + call);
                } else {
                    failures++;
                    System.out.println("FAIL call " + call + ": " + reason);
                }
            }
        }
        System.exit(failures == 0 ? 0 : 1);
    }
}
