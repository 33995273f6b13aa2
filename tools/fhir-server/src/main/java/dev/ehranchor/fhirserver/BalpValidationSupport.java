package dev.ehranchor.fhirserver;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.jpa.config.JpaConfig;
import ca.uhn.fhir.parser.IParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.hl7.fhir.common.hapi.validation.support.PrePopulatedValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.io.Resource;
import org.springframework.core.io.support.PathMatchingResourcePatternResolver;

/**
 * Adds the vendored IHE Basic Audit Log Patterns (BALP) 1.1.4 conformance resources
 * ({@code classpath:ig/ihe.iti.balp/*.json}: StructureDefinitions with snapshots, their value sets
 * and code system) to HAPI's JPA validation support chain, so {@code $validate} checks an
 * AuditEvent against the BALP profile it names in {@code meta.profile} instead of reporting the
 * profile as unknown. R4 core and its terminology come from HAPI's own
 * {@code hapi-fhir-validation-resources-r4}.
 */
@Configuration
public class BalpValidationSupport {

  private static final Logger log = LoggerFactory.getLogger(BalpValidationSupport.class);
  static final String LOCATION = "classpath*:ig/ihe.iti.balp/*.json";

  public BalpValidationSupport(
      FhirContext fhirContext,
      @Qualifier(JpaConfig.JPA_VALIDATION_SUPPORT_CHAIN) IValidationSupport jpaChain)
      throws IOException {
    // JpaConfig declares the chain as IValidationSupport; it is a JpaValidationSupportChain.
    ValidationSupportChain chain = (ValidationSupportChain) jpaChain;
    PrePopulatedValidationSupport balp = new PrePopulatedValidationSupport(fhirContext);
    IParser parser = fhirContext.newJsonParser();
    Resource[] files = new PathMatchingResourcePatternResolver().getResources(LOCATION);
    if (files.length == 0) throw new IllegalStateException("no BALP resources at " + LOCATION);
    for (Resource file : files) {
      try (InputStream in = file.getInputStream()) {
        IBaseResource resource = parser.parseResource(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        balp.addResource(resource);
      }
    }
    chain.addValidationSupport(balp);
    log.info("BALP 1.1.4: {} conformance resources added to the validation chain", files.length);
  }
}
