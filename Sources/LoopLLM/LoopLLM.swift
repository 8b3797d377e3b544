import CCurl

/// The LLM layer (issue 4): HTTP over libcurl first; providers, generation and the oracle follow.
public enum LoopLLM {
    /// The libcurl version this build links.
    public static var curlVersion: String { String(cString: curl_version()) }
}
