import Testing
@testable import HealthCheck
