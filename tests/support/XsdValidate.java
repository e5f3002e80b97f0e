// An independent second validator: Java's built-in javax.xml.validation (JDK), run as a single-file
// program (`java XsdValidate.java <schema.xsd> <file.xml>...`, no build step). Prints one line per
// file, "VALID <file>" or "INVALID <file>: <message>", and exits 1 when any file is invalid.
import java.io.File;
import javax.xml.XMLConstants;
import javax.xml.transform.stream.StreamSource;
import javax.xml.validation.Schema;
import javax.xml.validation.SchemaFactory;
import javax.xml.validation.Validator;
import org.xml.sax.SAXParseException;

public class XsdValidate {
  public static void main(String[] args) throws Exception {
    SchemaFactory factory = SchemaFactory.newInstance(XMLConstants.W3C_XML_SCHEMA_NS_URI);
    Schema schema = factory.newSchema(new File(args[0]));
    boolean allValid = true;
    for (int i = 1; i < args.length; i++) {
      Validator validator = schema.newValidator();
      try {
        validator.validate(new StreamSource(new File(args[i])));
        System.out.println("VALID " + args[i]);
      } catch (SAXParseException e) {
        allValid = false;
        System.out.println("INVALID " + args[i] + ": line " + e.getLineNumber() + ": " + e.getMessage());
      }
    }
    System.exit(allValid ? 0 : 1);
  }
}
